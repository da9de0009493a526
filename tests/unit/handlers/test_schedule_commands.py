"""Replies to `/regclean window`, `schedule` and `status`: arguments, time zones, the listing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from bot.core.errors import RunbookError
from bot.scheduler import Scheduled
from handlers.schedule_commands import Zones, schedule, schedule_text, window


class Client:
    def __init__(self, answers: list[Any]) -> None:
        self.answers, self.calls = answers, 0

    async def users_info(self, user: str) -> dict[str, Any]:
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {"ok": True, "user": {"id": user, "tz": answer}}


async def test_a_users_zone_comes_from_users_info_once_and_slack_trouble_means_utc() -> None:
    client = Client(["Asia/Shanghai", aiohttp.ClientConnectionError("down")])
    zones = Zones(client)  # type: ignore[arg-type]
    assert await zones.of("UALICE") == "Asia/Shanghai"
    assert await zones.of("UALICE") == "Asia/Shanghai" and client.calls == 1, "cached"
    assert await zones.of("UBOB") is None


def test_the_schedule_is_listed_with_slack_dates_each_reader_sees_in_their_zone() -> None:
    at = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
    jobs = [Scheduled("purge-at-window-3", "purge", 3, at), Scheduled("step-overdue-9", "overrun", 9, None)]
    text = schedule_text(jobs)
    stamp = f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|2026-12-01 18:00:00 UTC>"
    assert f"{stamp}: purge of request #3 at the window's start" in text
    assert "paused: overrun check of step #9" in text
    assert schedule_text([]) == "Nothing is scheduled."


@pytest.mark.parametrize("args", [("one",), ("a", "b", "c"), ("cancel", "now", "please")])
async def test_window_arguments_that_fit_no_form_are_refused_with_an_example(args: tuple[str, ...]) -> None:
    with pytest.raises(RunbookError, match="2026-12-01T02:00"):
        await window(None, "UALICE", args, None)  # type: ignore[arg-type]


async def test_schedule_cancel_needs_a_request_number() -> None:
    with pytest.raises(RunbookError, match="cancel ID"):
        await schedule(None, "UALICE", ("cancel", "tomorrow"))  # type: ignore[arg-type]
