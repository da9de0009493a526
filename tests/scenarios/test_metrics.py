"""`/metrics` scraped over HTTP in both modes: steps, Slack's calls, retries and failures, the newest
verified backup's age and the run's state (the purge's counters: tests/scenarios/test_purge.py)."""

from __future__ import annotations

from datetime import timedelta

import aiohttp
import pytest

from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import BOTH_MODES
from tests.scenarios.flow import recorded_and_backed_up
from tests.scenarios.metrics_scrape import scrape, value

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)


@BOTH_MODES
async def test_metrics_answer_in_either_mode_before_any_run(bot: RunningBot) -> None:
    assert bot.bot.health_url is not None
    samples = await scrape(bot.bot.health_url)
    assert value(samples, "regclean_run_state", state="active") == 0.0
    assert value(samples, "regclean_run_id") is None, "no run yet"
    assert value(samples, "regclean_newest_verified_backup_age_seconds") is None, "no backup yet"
    assert value(samples, "regclean_steps_total", step="inventory", outcome="succeeded") is None


async def test_steps_and_slack_calls_move_the_counters(http_bot: RunningBot, sandbox: Sandbox) -> None:
    url = http_bot.bot.health_url
    assert url is not None
    before = await scrape(url)
    sandbox.slack.fail_next("chat.postMessage", 503)  # one of Slack's 5xx: slack_sdk tries again
    await recorded_and_backed_up(http_bot, sandbox.slack)
    await http_bot.bot.runbook.drain()
    samples = await scrape(url)
    for step in ("inventory", "backup"):
        assert value(samples, "regclean_steps_total", step=step, outcome="succeeded") == 1.0
        assert value(samples, "regclean_steps_started_total", step=step) == 1.0
        assert value(samples, "regclean_step_duration_seconds_count", step=step, outcome="succeeded") == 1.0
    posted = value(samples, "regclean_slack_api_calls_total", method="chat.postMessage") or 0
    assert posted > (value(before, "regclean_slack_api_calls_total", method="chat.postMessage") or 0)
    assert value(samples, "regclean_slack_api_retries_total", reason="server_error") == 1.0
    assert value(samples, "regclean_run_state", state="active") == 1.0
    assert value(samples, "regclean_run_id") == 1.0
    age = value(samples, "regclean_newest_verified_backup_age_seconds")
    assert age is not None and 0 <= age < 3600
    assert value(samples, "regclean_purges_total", outcome="succeeded") is None, "no purge yet"
    http_bot.clock.advance(timedelta(hours=2))  # the age is read from the store at each scrape
    later = value(await scrape(url), "regclean_newest_verified_backup_age_seconds")
    assert later is not None and later >= age + 7200

    # A call Slack refuses is a failure, by method and Slack's error (the token was revoked).
    sandbox.slack.bot_token = "xoxb-revoked"
    async with aiohttp.ClientSession() as session, session.get(f"{url}/readyz") as response:
        assert response.status == 503
    samples = await scrape(url)
    assert (
        value(samples, "regclean_slack_api_failures_total", method="auth.test", error="invalid_auth") == 1.0
    )
