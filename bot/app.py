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
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config.settings import ConfigError, Settings
from bot.core.authz import AccessList, AccessPolicy
from bot.core.clock import Clock
from bot.core.errors import RunbookError
from bot.health import Readiness, add_health_routes, add_metrics_route
from bot.metrics import Metrics
from bot.runbook import KubeFactory, Runbook
from bot.runner import LeaseHeld, Runner
from bot.scheduler import Jobs, bind, make_scheduler
from bot.store.database import Database
from bot.store.jobs import JobTable
from bot.store.lease import Holder, RunnerLease
from bot.store.migrate import upgrade
from bot.store.runs import Store
from handlers import commands, interactions
from handlers.http_events import events_handler
from handlers.live import Clock as Seconds
from handlers.live import sleeper
from handlers.membership import SlackMembership
from handlers.notifier import SlackNotifier
from handlers.schedule_commands import Zones
from handlers.slack_metrics import counted_client
from handlers.slack_probe import SlackProbe
from handlers.slack_retry import on_clock

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
    runner: Runner
    metrics: Metrics
    health_url: str | None = None
    """`http://HOST:PORT` of `/healthz` and `/readyz`, once listening (both modes)."""
    started: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once this process holds the runner lease and runs the steps and the scheduler."""
    halted: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the bot must stop on its own: it lost the runner lease, or could not start."""
    halt_reason: str | None = None
    flush_seconds: float = 10.0
    """How long stopping waits for Slack to take the pending updates (the next start shows them again)."""
    _opened: bool = False
    _bound: bool = False

    async def open(self) -> None:
        """Bring the schema to head, once (every process does; the lease lives in the schema)."""
        if not self._opened:
            # Once per process, before anything reads the store; blocking work, so off the event loop.
            await asyncio.to_thread(upgrade, self.store.db)
            self._opened = True

    async def start(self) -> None:
        """Take the runner lease (LeaseHeld if another process holds it), settle what a previous
        process left running, and start the scheduler."""
        await self.open()
        if not self.runner.held and not await self.runner.take():
            raise LeaseHeld(self.runner.refusal())
        bind(self.runbook)
        self._bound = True
        jobs = Jobs(self.scheduler, JobTable(self.store.db))
        self.runbook.use_jobs(jobs)
        # Settle what the previous process left running before any job can start a step: a job
        # that fell due meanwhile must not start a step that recovery then marks interrupted.
        await self.runbook.restart.recover()
        # The stored definitions, checked, back into the scheduler's memory (bot/scheduler.py).
        await asyncio.to_thread(jobs.restore)
        self.scheduler.start()
        await self.runbook.restart.reschedule_expiries()
        await self.runbook.restart.show_again()  # what the previous process could not deliver
        self.runner.keep_renewing(self.halt)
        self.started.set()

    def halt(self, reason: str) -> None:
        """Stop running jobs at once, and ask whoever serves the bot to stop it."""
        log.error("stopping: %s", reason)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.halt_reason = reason
        self.halted.set()

    async def stop(self) -> None:
        """Stop cleanly: running steps become interrupted, pending updates are delivered, the lease
        is given up."""
        await self.runner.stop_renewing()
        await self.runbook.close()
        try:  # Slack may be down: stop anyway, the next start shows every message again
            await asyncio.wait_for(self.notifier.flush(), self.flush_seconds)
        except TimeoutError:
            log.warning("Slack did not take every pending update within %.0f s", self.flush_seconds)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self._bound:
            bind(None)
        await self.runner.release()
        self.store.close()


def build(
    settings: Settings,
    *,
    kube: KubeFactory | None = None,
    clock: Clock | None = None,
    holder: Holder | None = None,
    slack_time: Seconds | None = None,
) -> Bot:
    """Wire the bot from settings; `kube` replaces the Kubernetes client factory, `clock` the system
    clock (tests, the demo), `holder` who this process is to the runner lease, `slack_time` the clock
    (with its `sleep`) of every wait for Slack: pacing, Retry-After, backoff (a simulated one in
    tests). Nothing touches the database until `Bot.open`."""
    settings.require("slack_bot_token")
    if not (settings.slack_signing_secret or settings.slack_app_token):
        raise ConfigError(
            "Set SLACK_SIGNING_SECRET to serve HTTP mode, or SLACK_APP_TOKEN to use Socket Mode (or both)."
        )
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    store = Store(Database.from_url(settings.database_url.get_secret_value(), clock))
    metrics = Metrics(store.db)
    # slack_sdk's three retry handlers, with every call, retry and failure counted in the metrics
    client = counted_client(token, settings.slack_api_url or AsyncWebClient.BASE_URL, metrics)
    if slack_time is not None:  # docs/architecture.md, "Slack under its limits"
        client.retry_handlers = on_clock(client.retry_handlers, sleeper(slack_time))
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    bolt = AsyncApp(
        client=client,
        signing_secret=secret,
        # Answer as soon as the listener returns (no polling for ack()); it never waits for work.
        process_before_response=True,
        # Socket Mode requests arrive over the authenticated websocket and carry no signature.
        request_verification_enabled=secret is not None,
    )
    membership = SlackMembership(client)
    notifier = SlackNotifier(
        client,
        channel=settings.slack_channel,
        post_interval=settings.slack_post_interval,
        groups=membership,
        clock=slack_time or time.monotonic,
    )
    policy = AccessPolicy(
        AccessList.parse(settings.operators), AccessList.parse(settings.approvers), membership
    )
    runbook = Runbook.from_settings(settings, store, notifier, kube=kube, roles=policy)
    runbook.engine.watcher = metrics
    commands.register(bolt, runbook, policy, Zones(client))
    interactions.register(bolt, runbook, policy)
    ttl = timedelta(seconds=settings.runner_lease_seconds)
    runner = Runner(RunnerLease(store.db, holder or Holder.this_process(), ttl), ttl.total_seconds() / 3)
    return Bot(settings, store, make_scheduler(), runbook, notifier, client, bolt, runner, metrics)


def web_app(bot: Bot) -> web.Application:
    """`GET /healthz` and `GET /readyz`, and in HTTP mode `POST /slack/events` (signed requests only;
    503 until this process runs the steps)."""

    def alive() -> dict[str, Any]:
        return {"runner": bot.runner.held, "scheduler": bot.scheduler.running}

    app = web.Application()
    if bot.settings.slack_signing_secret:
        secret = bot.settings.slack_signing_secret.get_secret_value()
        app.router.add_post("/slack/events", events_handler(bot.bolt, secret, bot.started.is_set))
    scheduler = bot.scheduler
    ready = Readiness(bot.store.db, _slack_check(bot.client), lambda: bool(scheduler.running), bot.runner)
    add_health_routes(app, alive, ready)
    add_metrics_route(app, bot.metrics.exposition)
    return app


def _slack_check(client: AsyncWebClient) -> Callable[[], Awaitable[str | None]]:
    async def check() -> str | None:
        try:
            await client.auth_test()
        except SlackApiError as exc:
            return f"auth.test failed: {exc.response.get('error', 'unknown error')}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"Slack did not answer auth.test ({type(exc).__name__})"
        return None

    return check


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
async def connected(bot: Bot, *, wait: bool = True) -> AsyncIterator[str | None]:
    """Start the bot and its listeners as configured; yield the HTTP mode base URL (None without it).

    HTTP mode when a signing secret is set, Socket Mode when an app token is set, both when both;
    `/healthz` and `/readyz` are served on `REGCLEAN_PORT` in either. When another process holds the
    runner lease, this yields while waiting for it (`/readyz` answers 503, Socket Mode is not
    connected, `/slack/events` answers 503), and takes over once it can; with `wait=False` it raises
    LeaseHeld instead.
    """
    settings = bot.settings
    runner: web.AppRunner | None = None
    sockets: list[AsyncSocketModeHandler] = []
    takeover: asyncio.Task[None] | None = None
    try:
        await bot.open()
        if await bot.runner.take():
            await bot.start()
        elif not wait:
            raise LeaseHeld(bot.runner.refusal())
        else:
            log.warning("%s", bot.runner.waiting())
        runner = web.AppRunner(web_app(bot), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, settings.host, settings.port).start()
        host, port = runner.addresses[0][:2]
        bot.health_url = f"http://{host}:{port}"
        url = bot.health_url if settings.slack_signing_secret else None
        what = "/slack/events, /healthz, /readyz, /metrics" if url else "/healthz, /readyz, /metrics"
        log.info("listening on %s (%s)", bot.health_url, what)
        if bot.started.is_set():
            await _connect_socket(bot, sockets)
        else:
            takeover = asyncio.create_task(_take_over(bot, sockets))
        yield url
    finally:
        if takeover is not None:
            takeover.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await takeover
        for socket in sockets:
            await socket.close_async()
        if runner is not None:
            await runner.cleanup()
        await bot.stop()


async def _take_over(bot: Bot, sockets: list[AsyncSocketModeHandler]) -> None:
    """Wait for the runner lease, then start as the one runner (Socket Mode connects only now)."""
    try:
        await bot.runner.wait()
        await bot.start()
        await _connect_socket(bot, sockets)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.exception("could not start after taking the runner lease")
        bot.halt(f"could not start after taking the runner lease: {type(exc).__name__}")


async def _connect_socket(bot: Bot, sockets: list[AsyncSocketModeHandler]) -> None:
    settings = bot.settings
    if not settings.slack_app_token:
        return
    app_token = settings.slack_app_token.get_secret_value()
    socket = AsyncSocketModeHandler(
        bot.bolt,
        app_token=app_token,
        web_client=AsyncWebClient(
            token=app_token, base_url=settings.slack_api_url or AsyncWebClient.BASE_URL
        ),
    )
    sockets.append(socket)
    await socket.connect_async()
    log.info("Socket Mode: connected")


async def serve(settings: Settings, *, wait: bool = True) -> None:
    """Run the bot until SIGINT/SIGTERM; LeaseHeld when `wait` is False and another process runs,
    RunbookError when it had to stop on its own (it lost the runner lease)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    bot = build(settings)
    async with connected(bot, wait=wait):
        tune_for_latency()
        stopped, halted = asyncio.create_task(stop.wait()), asyncio.create_task(bot.halted.wait())
        await asyncio.wait((stopped, halted), return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        halted.cancel()
    if bot.halt_reason is not None:
        raise RunbookError(f"stopped: {bot.halt_reason}.")


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
