"""`/healthz` and `/readyz` in HTTP mode and in Socket Mode, on REGCLEAN_PORT."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from bot.health import SLACK_CHECK_TTL
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import BOTH_MODES

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)


async def get(url: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        return response.status, await response.json()


def auth_tests(sandbox: Sandbox) -> int:
    return sum(1 for method, _ in sandbox.slack.calls if method == "auth.test")


@BOTH_MODES
async def test_both_probes_answer_in_either_mode(bot: RunningBot) -> None:
    assert bot.bot.health_url is not None
    status, body = await get(f"{bot.bot.health_url}/healthz")
    assert (status, body) == (200, {"ok": True, "runner": True, "scheduler": True})
    status, body = await get(f"{bot.bot.health_url}/readyz")
    assert status == 200
    assert body == {
        "ready": True,
        "not_ready": [],
        "checks": {"database": "ok", "slack": "ok", "scheduler": "ok", "runner_lease": "ok"},
    }


@BOTH_MODES
async def test_readyz_names_slack_once_it_refuses_the_token_and_asks_it_at_most_once_per_ttl(
    bot: RunningBot, sandbox: Sandbox
) -> None:
    assert bot.bot.health_url is not None
    assert (await get(f"{bot.bot.health_url}/readyz"))[0] == 200
    asked = auth_tests(sandbox)
    sandbox.slack.bot_token = "xoxb-revoked"  # the token is revoked (or rotated) in Slack
    status, _ = await get(f"{bot.bot.health_url}/readyz")
    assert status == 200 and auth_tests(sandbox) == asked, "within the TTL Slack's answer is reused"
    bot.clock.advance(SLACK_CHECK_TTL)
    status, body = await get(f"{bot.bot.health_url}/readyz")
    assert status == 503
    assert body["not_ready"] == ["slack"]
    assert body["checks"]["slack"] == "auth.test failed: invalid_auth"
    assert auth_tests(sandbox) == asked + 1
    assert (await get(f"{bot.bot.health_url}/healthz"))[0] == 200, "alive all the same"


async def test_readyz_names_the_scheduler_when_it_does_not_run(http_bot: RunningBot) -> None:
    http_bot.bot.scheduler.shutdown(wait=False)
    status, body = await get(f"{http_bot.url}/readyz")
    assert status == 503
    assert body["not_ready"] == ["scheduler"] and body["checks"]["scheduler"] == "not running"
