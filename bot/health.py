"""`/healthz` (the process is alive), `/readyz` (it can do its work) and `/metrics`, in HTTP mode and Socket Mode.

`/readyz` checks that the database answers a trivial query, that Slack accepts the bot token
(`auth.test`, remembered for `SLACK_CHECK_TTL` so that probes do not hammer Slack), that the
scheduler runs, and that this process holds the runner lease. It answers 503 naming what is not
ready. `/metrics` answers bot/metrics.py's exposition. See docs/architecture.md, "Health and
readiness".
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from sqlalchemy.exc import SQLAlchemyError

from bot.runner import Runner
from bot.store.database import Database

SLACK_CHECK_TTL = timedelta(seconds=30)
"""How long an `auth.test` answer is trusted."""
DATABASE_TIMEOUT = 5.0
"""Seconds the database may take to answer `SELECT 1`."""
OK = "ok"
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Prometheus's text exposition format."""


@dataclass
class Readiness:
    """The checks behind `/readyz`; `slack` returns None when Slack accepts the token, else why not."""

    db: Database
    slack: Callable[[], Awaitable[str | None]]
    scheduler: Callable[[], bool]
    runner: Runner
    _slack_seen: tuple[datetime, str | None] | None = field(default=None, init=False)
    _slack_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def checks(self) -> dict[str, str]:
        """Each check's name and `ok`, or why it is not ready."""
        database, slack = await asyncio.gather(self._database(), self._slack())
        return {
            "database": database or OK,
            "slack": slack or OK,
            "scheduler": OK if self.scheduler() else "not running",
            "runner_lease": self._lease() or OK,
        }

    async def _database(self) -> str | None:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._ping), DATABASE_TIMEOUT)
        except TimeoutError:
            return f"no answer to SELECT 1 within {DATABASE_TIMEOUT:g} s"
        except SQLAlchemyError as exc:
            return f"SELECT 1 failed: {self._safe(exc)}"
        return None

    def _ping(self) -> None:
        with self.db.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    def _safe(self, exc: SQLAlchemyError) -> str:
        """The driver's first line, with the URL's password (should a driver ever echo it) masked."""
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        line = text[0][:300] if text else type(exc).__name__
        password = self.db.engine.url.password
        return line.replace(password, "***") if password else line

    async def _slack(self) -> str | None:
        async with self._slack_lock:
            now = self.db.clock.now()
            if self._slack_seen is None or now - self._slack_seen[0] >= SLACK_CHECK_TTL:
                self._slack_seen = (now, await self.slack())
            return self._slack_seen[1]

    def _lease(self) -> str | None:
        if self.runner.held:
            return None
        if self.runner.lost is not None:
            return f"lost: {self.runner.lost}"
        return self.runner.waiting()


def add_health_routes(app: web.Application, alive: Callable[[], dict[str, Any]], ready: Readiness) -> None:
    """`GET /healthz` (never touches the database or Slack) and `GET /readyz` (200, or 503 naming what is not ready)."""

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, **alive()})

    async def readyz(request: web.Request) -> web.Response:
        checks = await ready.checks()
        not_ready = sorted(name for name, verdict in checks.items() if verdict != OK)
        body = {"ready": not not_ready, "not_ready": not_ready, "checks": checks}
        return web.json_response(body, status=503 if not_ready else 200)

    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)


def add_metrics_route(app: web.Application, exposition: Callable[[], bytes]) -> None:
    """`GET /metrics`: Prometheus's text format; `exposition` reads the store, so it runs in a thread."""

    async def metrics(request: web.Request) -> web.Response:
        body = await asyncio.to_thread(exposition)
        return web.Response(body=body, headers={"Content-Type": METRICS_CONTENT_TYPE})

    app.router.add_get("/metrics", metrics)
