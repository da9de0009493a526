"""The bot on a Slack as strict as Slack (tests/scenarios/strict_slack.py): an update Slack never
took before a restart is shown from the store by the next process. The golden path under Slack's
strict limits and injected failures, where no message may end up older than what the bot last
meant to show, no reply may be lost, and what Slack shows must be what the store says, also after a
restart, lives in tests/e2e/test_versioned_bucket.py."""

from __future__ import annotations

import pytest

from bot.core.model import RunState
from sandbox.slack.ratelimit import FastTime
from sandbox.stack import Sandbox
from tests.scenarios.conftest import inventory_done, root
from tests.scenarios.flow import in_thread
from tests.scenarios.strict_slack import SPEED, from_store, last_updates, shown, strict_bot

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)


async def test_an_update_slack_never_took_before_a_restart_is_shown_from_the_store(sandbox: Sandbox) -> None:
    ws, time = sandbox.slack, FastTime(SPEED)
    ws.strict(time)
    async with strict_bot(sandbox, time) as first:
        await first.driver.slash("UALICE", "inventory")
        await inventory_done(ws)
        await first.bot.notifier.flush()
        ws.fail_every("chat.update", "drop", every=1, times=10**6)  # Slack unreachable for updates
        await first.driver.slash("UALICE", "close")
        await ws.wait_for(lambda w: in_thread(w, "Final report — run #1"), timeout=60)
        await ws.wait_for(lambda w: len(last_updates(w)) > 0 and w.rejections[-1].method == "chat.update")
    top = root(ws)
    assert top is not None
    ws.faults.clear("chat.update")
    async with strict_bot(sandbox, time) as second:
        run = second.bot.store.run(1)
        assert run is not None and run.state is RunState.ABANDONED
        assert shown(top) != from_store(run), "the closing update should not have landed before the restart"
        await ws.wait_for(lambda w: shown(top) == from_store(run), timeout=30)
        await second.bot.notifier.flush()
        assert shown(top) == from_store(run)
