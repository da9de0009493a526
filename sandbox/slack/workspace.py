"""The simulated Slack workspace: its state, what it recorded, and the server's lifetime."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from aiohttp import web

from sandbox.slack import transcript as transcript_mod
from sandbox.slack.files import FileStore
from sandbox.slack.models import (
    AckReport,
    Ephemeral,
    Message,
    Rejection,
    UploadedFile,
    User,
    UserAction,
    Usergroup,
)
from sandbox.slack.ratelimit import Fault, Faults, RateLimiter, Seconds, Tiers
from sandbox.slack.response_url import ResponseUrls
from sandbox.slack.socket_mode import SocketHub
from sandbox.slack.webapi import manifest_scopes

T = TypeVar("T")
TimelineEntry = Message | Ephemeral | UserAction | AckReport | Rejection

# The sandbox's own credentials: published on purpose, they open nothing but this simulator.
BOT_TOKEN = "xoxb-sandbox-bot"
APP_TOKEN = "xapp-sandbox-app"
SIGNING_SECRET = "sandbox-signing-secret"

# Deterministic timestamps keep the demo's transcript stable from run to run.
FIRST_TS_MICROS = 1_700_000_000_000_100
TS_STEP_MICROS = 100


class SlackWorkspace:
    """One team with one bot, its channels, people and user groups, served over HTTP."""

    def __init__(
        self,
        *,
        bot_token: str = BOT_TOKEN,
        app_token: str = APP_TOKEN,
        signing_secret: str = SIGNING_SECRET,
        team_id: str = "T0SANDBOX",
        bot_user_id: str = "U0REGCLEAN",
        channel_id: str = "C0RUNBOOK",
        channel_name: str = "platform-ops",
        bot_name: str = "regclean",
        app_id: str = "A0REGCLEAN",
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = "sandbox"
        self.bot_user_id = bot_user_id
        self.bot_id = "B" + bot_user_id[1:]
        self.app_id = app_id
        self.channel_id = channel_id
        self.channel_name = channel_name
        self.channels: dict[str, str] = {channel_id: channel_name}
        self.users: dict[str, User] = {bot_user_id: User(bot_user_id, bot_name, bot_name, is_bot=True)}
        self.usergroups: dict[str, Usergroup] = {}
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)
        """The workspace's clock: what "Today" is when the transcript shows a date (the bot's clock in a sandbox)."""
        self.scopes: set[str] = set(manifest_scopes())
        """The bot scopes the installation was granted (manifest.yml's); remove one to see `missing_scope`."""

        self.messages: list[Message] = []
        self.posted: list[tuple[str, str | None, str, str]] = []
        """Every message as chat.postMessage took it, before any update: ts, thread_ts, text, blocks (JSON)"""
        self.ephemerals: list[Ephemeral] = []
        self.files: list[UploadedFile] = []
        self.rejections: list[Rejection] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.timeline: list[TimelineEntry] = []

        self.rate_limiter = RateLimiter()
        self.tiers: Tiers | None = None
        """Slack's own per-method limits, once `strict()` turned them on"""
        self.faults = Faults()
        self.file_store = FileStore()
        self.response_urls = ResponseUrls()
        self.socket = SocketHub(self)
        self._ts_counter = itertools.count()
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.api_url = ""

    # -- setup -------------------------------------------------------------------------------

    def add_user(self, user_id: str, name: str, *, real_name: str | None = None) -> None:
        """Add a person who can type commands and click buttons."""
        self.users[user_id] = User(user_id, name, real_name or name)

    def add_usergroup(self, group_id: str, handle: str, user_ids: list[str]) -> None:
        """Add a user group (`@handle`) with these members."""
        self.usergroups[group_id] = Usergroup(group_id, handle, list(user_ids))

    def add_channel(self, channel_id: str, name: str) -> None:
        """Add another channel the bot is a member of."""
        self.channels[channel_id] = name

    def rate_limit(self, method: str, per_second: int) -> None:
        """Answer HTTP 429 (Retry-After: 1) to calls of method beyond per_second in any second."""
        self.rate_limiter.limit(method, per_second)

    def strict(self, clock: Seconds | None = None) -> None:
        """Hold every call to Slack's published rate limits (sandbox/slack/ratelimit.py), on `clock`
        (seconds; the machine's monotonic clock by default): over one, HTTP 429 with Retry-After."""
        self.tiers = Tiers(clock) if clock is not None else Tiers()

    def retry_after(self, method: str, params: dict[str, Any]) -> int | None:
        """Count a call against the limits in force; the seconds to wait when it is over one."""
        if not self.rate_limiter.allow(method):
            return 1
        if self.tiers is None:
            return None
        channel = params.get("channel")
        where = (self.resolve_channel(str(channel)) or str(channel)) if channel else None
        return self.tiers.retry_after(method, where)

    def fail_next(self, method: str, *faults: Fault) -> None:
        """Answer the next calls of method with Slack's own failures: a 5xx status each, or `drop`
        (the connection closed without an answer); nothing of such a call is done."""
        self.faults.add(method, *faults)

    def fail_every(self, method: str, fault: Fault, *, every: int, times: int) -> None:
        """A burst of Slack's own failures: from now on every `every`-th call of method fails with
        fault (a 5xx status or `drop`), `times` times in all."""
        self.faults.burst(method, fault, every=every, times=times)

    # -- lifetime ----------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Serve the Web API, response_url, uploads and Socket Mode on host:port (0 picks one)."""
        from sandbox.slack.server import build_app  # the server imports this module

        self._runner = web.AppRunner(build_app(self), shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound_port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound_port}"
        self.api_url = self.url + "/api/"

    async def stop(self) -> None:
        """Close Socket Mode connections and stop serving."""
        await self.socket.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # -- recording ---------------------------------------------------------------------------

    def next_ts(self) -> str:
        """A message ts, strictly greater than every one handed out before."""
        micros = FIRST_TS_MICROS + next(self._ts_counter) * TS_STEP_MICROS
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def record(self, entry: TimelineEntry) -> None:
        """Keep entry in its list and the timeline, and wake whoever waits for a change."""
        if isinstance(entry, Message):
            self.messages.append(entry)
        elif isinstance(entry, Ephemeral):
            self.ephemerals.append(entry)
        elif isinstance(entry, Rejection):
            self.rejections.append(entry)
        self.timeline.append(entry)
        self.notify()

    def record_call(self, method: str, params: dict[str, Any]) -> None:
        """Log a Web API call as it arrived."""
        self.calls.append((method, params))
        self.notify()

    def record_user_command(self, user_id: str, channel_id: str, text: str, *, kind: str = "command") -> None:
        """Log what a person typed or clicked, so the transcript shows it."""
        self.record(UserAction("click" if kind == "click" else "command", user_id, channel_id, text))

    def record_ack(self, user_id: str, channel_id: str, *, acked: bool, detail: str) -> None:
        """Log how the app answered an interaction (shown in the transcript when it did not)."""
        self.timeline.append(AckReport(user_id, channel_id, acked, detail))
        self.notify()

    def notify(self) -> None:
        """Wake every wait_for so it re-evaluates its predicate."""
        self._changed.set()
        self._changed = asyncio.Event()

    # -- queries -----------------------------------------------------------------------------

    def find_message(self, channel: str, ts: str) -> Message | None:
        """The message with this ts in channel, if it exists."""
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def thread(self, ts: str) -> list[Message]:
        """The replies under a root message, in order."""
        return [m for m in self.messages if m.thread_ts == ts and m.ts != ts]

    def user_name(self, user_id: str) -> str:
        """The user's handle, or the id when unknown."""
        user = self.users.get(user_id)
        return user.name if user is not None else user_id

    def group_handle(self, group_id: str) -> str | None:
        """A user group's handle (without `@`), or None when unknown."""
        group = self.usergroups.get(group_id)
        return group.handle if group is not None else None

    def resolve_channel(self, channel: str) -> str | None:
        """A channel id from an id, a name or #name; a user id means the DM with that user."""
        if channel in self.channels:
            return channel
        name = channel.removeprefix("#")
        for channel_id, channel_name in self.channels.items():
            if channel_name == name:
                return channel_id
        if channel in self.users and not self.users[channel].is_bot:
            return self.dm_channel(channel)
        return None

    def dm_channel(self, user_id: str) -> str:
        """The id of the bot's DM with user_id, created on first use."""
        dm = "D" + user_id[1:]
        self.channels.setdefault(dm, f"@{self.user_name(user_id)}")
        return dm

    async def wait_for(
        self,
        predicate: Callable[[SlackWorkspace], T | bool | None],
        timeout: float = 10.0,  # noqa: ASYNC109 (the contract)
    ) -> T:
        """Wait until predicate(workspace) is truthy and return its value; TimeoutError shows the transcript."""
        try:
            return await asyncio.wait_for(self._until(predicate), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"Slack sandbox: condition not met within {timeout}s. Transcript so far:\n{self.transcript()}"
                + (f"\nRejected calls: {self.rejections}" if self.rejections else "")
            ) from None

    async def _until(self, predicate: Callable[[SlackWorkspace], T | bool | None]) -> T:
        while True:
            # Take the event before evaluating, so a change during evaluation is not missed.
            changed = self._changed
            result = predicate(self)
            if result:
                return cast(T, result)
            await changed.wait()

    def transcript(self) -> str:
        """The conversation as a person would read it, in order."""
        return transcript_mod.render(self)
