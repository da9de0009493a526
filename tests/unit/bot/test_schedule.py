"""Windows, the purge at a window's start, reminders and overruns, on a clock the tests move by hand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_MISSED, JobEvent
from sqlalchemy import text

from bot.config.settings import Settings
from bot.core.errors import RunbookError, WindowError
from bot.core.model import StepState
from bot.core.notifier import Requester
from bot.runbook import Runbook
from bot.scheduler import Jobs, bind, make_scheduler
from bot.steps.approval.model import RequestState, RequestView
from bot.steps.schedule.windows import Window
from sandbox.clock import FakeClock
from tests.databases import open_store
from tests.unit.bot.recorder import RecordingNotifier

#: the engine's clock starts at the database's time (approval deadlines are kept by the database)
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
PLAN = {"bucket": "registry"}


class Harness:
    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.store = open_store(f"sqlite:///{tmp_path / 'regclean.db'}")
        self.notifier = RecordingNotifier()
        self.clock = FakeClock(NOW)
        self.settings = Settings(approvers=("UBOB", "UCAROL", "UDAN"), **settings)
        self.runbook = Runbook(self.store, self.notifier, self._no_kube, settings=self.settings)
        self.runbook.use_clock(self.clock)
        self.scheduler = make_scheduler(self.store.db.engine)
        self.scheduler.start(paused=True)  # jobs are stored and listed, never run by time
        self.jobs = Jobs(self.scheduler)
        self.runbook.use_jobs(self.jobs)
        self.started: list[int] = []

        async def start_purge(request_id: int, requester: Requester) -> None:
            self.started.append(request_id)

        self.runbook._start_purge = start_purge  # type: ignore[method-assign]

    @staticmethod
    def _no_kube() -> Any:
        raise AssertionError("scheduling never talks to the cluster")

    async def approved(self, ttl: timedelta = timedelta(hours=2)) -> RequestView:
        """A request approved by two people through the runbook, as the buttons do."""
        run = self.store.open_run("UALICE", "C1")
        request = self.runbook._approvals.open(run.id, "UALICE", PLAN, 2, ttl)
        await self.runbook._schedule_request(request)
        for user in ("UBOB", "UCAROL"):
            await self.runbook.approve(request.id, user, may_approve=True)
        await self.runbook.drain()
        return self.runbook._approvals.get(request.id)

    async def declare(self, start: timedelta, length: str = "4h") -> Window:
        """A window starting `start` after NOW."""
        return await self.runbook.declare_window(at(start), length, "UALICE", None)

    def job(self, job_id: str) -> Any:
        return self.scheduler.get_job(job_id)


def at(offset: timedelta) -> str:
    return (NOW + offset).isoformat(timespec="minutes")


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = Harness(tmp_path)
    yield harness
    harness.scheduler.shutdown(wait=False)
    harness.store.close()


async def test_without_windows_an_approved_purge_starts_at_once(h: Harness) -> None:
    view = await h.approved()
    assert h.started == [view.id] and h.notifier.of("choice") == []
    assert h.job(f"remind-expiry-{view.id}") is None, "approved: no reminder to approve"


async def test_ahead_of_a_window_the_requester_may_only_schedule_it_at_the_start(h: Harness) -> None:
    window = await h.declare(timedelta(hours=1))
    view = await h.approved()
    [choice] = h.notifier.of("choice")
    assert choice.inside is None and choice.coming.start == window.start and choice.can_schedule
    with pytest.raises(RunbookError, match="outside every maintenance window"):
        await h.runbook.purge_now(view.id, "UALICE")
    with pytest.raises(RunbookError, match="Only the person who asked"):
        await h.runbook.purge_at_window_start(view.id, "UBOB")
    said = await h.runbook.purge_at_window_start(view.id, "UALICE")
    assert "runs when the window starts" in said and h.started == []
    assert h.job(f"purge-at-window-{view.id}").next_run_time == window.start
    assert h.job(f"remind-window-{view.id}").next_run_time == window.start - timedelta(minutes=15)
    assert [j.kind for j in await h.runbook.scheduled()] == ["reminder", "purge", "expiry"]
    assert h.started == []
    assert "purge.scheduled" in [e.action for e in h.store.audit_log()]


async def test_a_scheduled_purge_runs_on_time_and_not_late(h: Harness) -> None:
    window = await h.declare(timedelta(hours=1))
    view = await h.approved()
    await h.runbook.purge_at_window_start(view.id, "UALICE")
    h.clock.set(window.start + timedelta(seconds=30))
    await h.runbook.purge_at_window(view.id, window.start)
    await h.runbook.drain()
    assert h.started == [view.id]

    h.clock.set(NOW)
    late = await h.approved()
    h.clock.set(window.start + timedelta(minutes=40))  # the bot was down when the window started
    await h.runbook.purge_at_window(late.id, window.start)
    assert h.started == [view.id], "a late scheduled purge does not start on its own"
    notice = h.notifier.of("notice")[-1]
    assert "was not running then" in notice.text and "nothing was deleted" in notice.text
    assert notice.people == ("UALICE",) and notice.times == (window.start,)
    assert h.runbook._approvals.get(late.id).state is RequestState.APPROVED


async def test_the_choice_says_when_the_approval_expires_before_the_window(h: Harness) -> None:
    await h.declare(timedelta(hours=3))
    view = await h.approved(ttl=timedelta(minutes=30))
    [choice] = h.notifier.of("choice")
    assert (
        not choice.can_schedule and choice.note is not None and "before the next window" in choice.note.text
    )
    with pytest.raises(RunbookError, match="expires before the next window"):
        await h.runbook.purge_at_window_start(view.id, "UALICE")


async def test_purge_now_inside_a_window_and_cancelling_a_scheduled_one(h: Harness) -> None:
    await h.declare(-timedelta(hours=1))
    view = await h.approved()
    [choice] = h.notifier.of("choice")
    assert choice.inside is not None and choice.coming is None, "inside, the window in the plan is this one"
    with pytest.raises(RunbookError, match="window is open now"):
        await h.runbook.purge_at_window_start(view.id, "UALICE")
    await h.runbook.purge_now(view.id, "UALICE")
    await h.runbook.drain()
    assert h.started == [view.id]
    with pytest.raises(RunbookError, match="No purge is scheduled for request"):
        await h.runbook.cancel_scheduled(view.id, "UALICE")


async def test_cancelling_a_scheduled_purge_is_audited(h: Harness) -> None:
    await h.declare(timedelta(hours=1))
    view = await h.approved()
    await h.runbook.purge_at_window_start(view.id, "UALICE")
    said = await h.runbook.cancel_scheduled(view.id, "UBOB")
    assert "Cancelled" in said and h.job(f"purge-at-window-{view.id}") is None
    assert h.job(f"remind-window-{view.id}") is None
    assert "purge.schedule.cancelled" in [e.action for e in h.store.audit_log()]


async def test_an_approval_that_lapses_while_waiting_for_its_window_cannot_start(h: Harness) -> None:
    await h.declare(timedelta(minutes=30))
    view = await h.approved()
    assert view.state is RequestState.APPROVED
    with h.store.db.engine.begin() as db:  # its deadline comes while it waits for the window
        db.execute(
            text("UPDATE approval_requests SET expires_at = created_at WHERE id = :id"), {"id": view.id}
        )
    assert await h.runbook.expire_request(view.id), "the expiry job lapses an approved request that waited"
    with pytest.raises(RunbookError, match="is expired"):
        await h.runbook.purge_at_window_start(view.id, "UALICE")


async def test_the_expiry_reminder_names_the_approvers_who_have_not_answered(h: Harness) -> None:
    run = h.store.open_run("UALICE", "C1")
    request = h.runbook._approvals.open(run.id, "UALICE", PLAN, 2, timedelta(minutes=30))
    h.runbook._approvals.approve(request.id, "UBOB", may_approve=True, allow_self=False)
    await h.runbook.remind_expiry(request.id)
    [notice] = h.notifier.of("notice")
    assert notice.people == ("UCAROL", "UDAN") and "needs 1 more approval" in notice.text
    h.runbook._approvals.approve(request.id, "UCAROL", may_approve=True, allow_self=False)
    await h.runbook.remind_expiry(request.id)
    assert len(h.notifier.of("notice")) == 1, "a reminder that is no longer useful is dropped"


async def test_a_step_running_past_its_expected_time_is_told_once_to_whoever_asked(h: Harness) -> None:
    run = h.store.open_run("UALICE", "C1")
    step = h.store.start_step(run.id, "backup", "UOSCAR")
    assert step is not None
    await h.runbook.step_overdue(step.id)
    [notice] = h.notifier.of("notice")
    assert notice.people == ("UOSCAR",) and "longer than expected" in notice.text
    h.store.finish_step(step.id, StepState.SUCCEEDED)
    await h.runbook.step_overdue(step.id)
    assert len(h.notifier.of("notice")) == 1


async def test_declaring_windows_refuses_a_time_without_offset_and_replaces_the_old_one(h: Harness) -> None:
    with pytest.raises(WindowError, match="no UTC offset"):
        await h.runbook.declare_window("2026-12-01T02:00", "4h", "UALICE", "Asia/Shanghai")
    first = await h.declare(timedelta(hours=5))
    second = await h.runbook.declare_window(at(timedelta(hours=30)), "2h", "UBOB", None)
    _, coming, used = await h.runbook.window_now()
    assert used and coming == second and coming != first
    assert await h.runbook.cancel_window("UALICE") == second
    assert (await h.runbook.window_now())[2] is False
    actions = [e.action for e in h.store.audit_log()]
    assert actions.count("window.declared") == 2 and actions.count("window.cancelled") == 1


async def test_the_purge_gate_follows_the_windows_on_the_engine_clock(tmp_path: Path) -> None:
    start = NOW + timedelta(hours=1)
    h = Harness(tmp_path, windows=(f"{start.minute} {start.hour} * * * 2h",))
    try:
        run = h.store.open_run("UALICE", "C1")
        gate = {g.key: g for g in (await h.runbook.judge_now(run.id)).gates}["window"]
        assert not gate.passed and f"{start:%Y-%m-%d %H:%M}" in (gate.remedy or "")
        h.clock.set(start + timedelta(minutes=5))
        gate = {g.key: g for g in (await h.runbook.judge_now(run.id)).gates}["window"]
        assert gate.passed
    finally:
        h.scheduler.shutdown(wait=False)
        h.store.close()


async def test_after_a_restart_a_missed_expiry_runs_and_a_missed_reminder_is_dropped(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'regclean.db'}")
    first = make_scheduler(store.db.engine)
    first.start(paused=True)
    past = datetime.now(UTC) - timedelta(minutes=10)  # both fell due while the bot was down
    Jobs(first).expire(7, past)
    Jobs(first).remind_expiry(7, past)
    first.shutdown(wait=False)

    expired, missed = asyncio.Event(), asyncio.Event()
    reminded: list[int] = []

    class Target:
        async def expire_request(self, request_id: int) -> bool:
            expired.set()
            return True

        async def remind_expiry(self, request_id: int) -> None:
            reminded.append(request_id)

    def on_missed(event: JobEvent) -> None:
        if event.job_id == "remind-expiry-7":
            missed.set()

    bind(Target())  # type: ignore[arg-type]
    again = make_scheduler(store.db.engine)
    again.add_listener(on_missed, EVENT_JOB_MISSED)
    again.start()
    try:
        await asyncio.wait_for(asyncio.gather(expired.wait(), missed.wait()), 10)
        assert reminded == [] and again.get_job("remind-expiry-7") is None
    finally:
        again.shutdown(wait=False)
        bind(None)
        store.close()


async def test_a_restore_that_would_outlast_the_window_is_warned_not_refused(h: Harness) -> None:
    run = h.store.open_run("UALICE", "C1")
    await h.runbook._warn_if_outlasting(run.id, "UALICE")
    assert h.notifier.of("notice") == [], "no windows: nothing to warn about"
    window = await h.declare(-timedelta(minutes=30), "2h")  # open now, for 90 more minutes
    await h.runbook._warn_if_outlasting(run.id, "UALICE")  # core 3h + plugins 3h expected by default
    [notice] = h.notifier.of("notice")
    assert "past the window's end" in notice.text and notice.times == (NOW + timedelta(hours=6), window.end)
    assert notice.people == ("UALICE",)
    h.clock.set(window.end + timedelta(minutes=1))
    await h.runbook._warn_if_outlasting(run.id, "UALICE")
    assert "No maintenance window is open now" in h.notifier.of("notice")[-1].text
