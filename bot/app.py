"""The composition root: builds the store, scheduler, engine and Bolt app, and serves them.

This module is the only place that imports `handlers` (`bot/cli.py` serves through it).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.settings import ConfigError, Settings
from bot.core.authz import AccessList, AccessPolicy
from bot.core.clock import Clock
from bot.runbook import KubeFactory, Runbook
from bot.scheduler import Jobs, bind, make_scheduler
from bot.store.database import Database
from bot.store.migrate import upgrade
from bot.store.runs import Store
from handlers import commands, interactions
from handlers.membership import SlackMembership
from handlers.notifier import SlackNotifier
from handlers.schedule_commands import Zones
from handlers.slack_probe import SlackProbe

log = logging.getLogger(__name__)


@dataclass
class Bot:
    """Everything `regclean serve` runs, wired together."""

    settings: Settings
    store: Store
    scheduler: AsyncIOScheduler
    runbook: Runbook
    notifier: SlackNotifier
    client: AsyncWebClient
    bolt: AsyncApp

    async def start(self) -> None:
        """Bring the schema to head, start the scheduler and settle what a previous process left running."""
        # Once per process, before anything reads the store; blocking work, so off the event loop.
        await asyncio.to_thread(upgrade, self.store.db)
        bind(self.runbook)
        self.runbook.use_jobs(Jobs(self.scheduler))
        # Settle what the previous process left running before any job can start a step: a job
        # that fell due meanwhile must not start a step that recovery then marks interrupted.
        await self.runbook.recover()
        self.scheduler.start()
        await self.runbook.reschedule_expiries()

    async def stop(self) -> None:
        """Stop cleanly: running steps become interrupted, pending updates are delivered."""
        await self.runbook.close()
        await self.notifier.flush()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        bind(None)
        self.store.close()


def build(settings: Settings, *, kube: KubeFactory | None = None, clock: Clock | None = None) -> Bot:
    """Wire the bot from settings; `kube` replaces the Kubernetes client factory, `clock` the system
    clock (tests, the demo). Nothing touches the database until `Bot.start`."""
    settings.require("slack_bot_token")
    if not (settings.slack_signing_secret or settings.slack_app_token):
        raise ConfigError(
            "Set SLACK_SIGNING_SECRET to serve HTTP mode, or SLACK_APP_TOKEN to use Socket Mode (or both)."
        )
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    client = AsyncWebClient(
        token=token,
        base_url=settings.slack_api_url or AsyncWebClient.BASE_URL,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=5)],
    )
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    bolt = AsyncApp(
        client=client,
        signing_secret=secret,
        # Answer as soon as the listener returns (no polling for ack()); it never waits for work.
        process_before_response=True,
        # Socket Mode requests arrive over the authenticated websocket and carry no signature.
        request_verification_enabled=secret is not None,
    )
    store = Store(Database.from_url(settings.database_url.get_secret_value(), clock))
    notifier = SlackNotifier(
        client, channel=settings.slack_channel, post_interval=settings.slack_post_interval
    )
    runbook = Runbook.from_settings(settings, store, notifier, kube=kube)
    policy = AccessPolicy(
        AccessList.parse(settings.operators), AccessList.parse(settings.approvers), SlackMembership(client)
    )
    commands.register(bolt, runbook, policy, Zones(client))
    interactions.register(bolt, runbook, policy)
    return Bot(settings, store, make_scheduler(store.db.engine), runbook, notifier, client, bolt)


def web_app(bot: Bot) -> web.Application:
    """The HTTP endpoints: `POST /slack/events` (signed requests only) and `GET /healthz`."""

    async def events(request: web.Request) -> web.Response:
        response = await bot.bolt.async_dispatch(await to_bolt_request(request))
        return await to_aiohttp_response(response)

    async def healthz(request: web.Request) -> web.Response:
        run = await bot.runbook.status()
        body: dict[str, Any] = {
            "ok": True,
            "scheduler": bot.scheduler.running,
            "active_run": run.id if run else None,
        }
        return web.json_response(body)

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app


def tune_for_latency() -> None:
    """Keep the garbage collector's pauses short, so that acknowledgements stay fast.

    Measured with bench/ack_latency.py: a full collection walked every object the imports left
    behind (kubernetes' models alone are many thousands) and grew with each large inventory,
    pausing the event loop for 50–110 ms. Freezing what start-up created takes it out of every
    collection; a larger first threshold lets a page's short-lived objects die by reference
    counting before a collection promotes them. The worker threads get the GIL back sooner.
    """
    gc.freeze()
    gc.set_threshold(10_000, 20, 100)
    sys.setswitchinterval(0.001)


@contextlib.asynccontextmanager
async def connected(bot: Bot) -> AsyncIterator[str | None]:
    """Start the bot and its listeners as configured; yield the HTTP base URL (None without HTTP mode).

    HTTP mode when a signing secret is set, Socket Mode when an app token is set, both when both.
    """
    settings = bot.settings
    await bot.start()
    runner: web.AppRunner | None = None
    socket: AsyncSocketModeHandler | None = None
    try:
        url = None
        if settings.slack_signing_secret:
            runner = web.AppRunner(web_app(bot), access_log=None)
            await runner.setup()
            await web.TCPSite(runner, settings.host, settings.port).start()
            host, port = runner.addresses[0][:2]
            url = f"http://{host}:{port}"
            log.info("HTTP mode: listening on %s (/slack/events, /healthz)", url)
        if settings.slack_app_token:
            app_token = settings.slack_app_token.get_secret_value()
            socket = AsyncSocketModeHandler(
                bot.bolt,
                app_token=app_token,
                web_client=AsyncWebClient(
                    token=app_token, base_url=settings.slack_api_url or AsyncWebClient.BASE_URL
                ),
            )
            await socket.connect_async()
            log.info("Socket Mode: connected")
        yield url
    finally:
        if socket is not None:
            await socket.close_async()
        if runner is not None:
            await runner.cleanup()
        await bot.stop()


async def serve(settings: Settings) -> None:
    """Run the bot until SIGINT/SIGTERM."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with connected(build(settings)):
        tune_for_latency()
        await stop.wait()


def slack_probe(settings: Settings) -> SlackProbe | None:
    """`auth.test` with the configured bot token, for `regclean doctor` and `rehearse` in a terminal."""
    if settings.slack_bot_token is None:
        return None
    return SlackProbe(
        AsyncWebClient(
            token=settings.slack_bot_token.get_secret_value(),
            base_url=settings.slack_api_url or AsyncWebClient.BASE_URL,
        )
    )
