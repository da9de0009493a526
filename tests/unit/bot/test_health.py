"""Readiness when the database does not answer: named, with the URL's password nowhere."""

from __future__ import annotations

import socket
from datetime import timedelta

from bot.health import Readiness
from bot.runner import Runner
from bot.store.database import Database
from bot.store.lease import Holder, RunnerLease


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_database_that_refuses_connections_is_named_without_its_password() -> None:
    password = "pw-canary-51b2"
    db = Database.from_url(f"postgresql+psycopg://regclean:{password}@127.0.0.1:{closed_port()}/regclean")

    async def slack_ok() -> str | None:
        return None

    runner = Runner(RunnerLease(db, Holder("me", "here", 1), timedelta(seconds=30)), 10)
    runner.held = True
    checks = await Readiness(db, slack_ok, lambda: True, runner).checks()
    db.close()
    assert checks["database"].startswith("SELECT 1 failed: connection failed")
    assert "Connection refused" in checks["database"]
    assert password not in str(checks)
    assert {k: v for k, v in checks.items() if k != "database"} == {
        "slack": "ok",
        "scheduler": "ok",
        "runner_lease": "ok",
    }
