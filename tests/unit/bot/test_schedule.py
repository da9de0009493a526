"""Windows, the purge at a window's start, reminders and overruns, on a clock the tests move by hand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED, JobEvent

from bot.config.settings import Settings
from bot.core.engine import Engine
from bot.core.errors import RunbookError, WindowError
from bot.core.model import StepState
from bot.core.notifier import Requester
from bot.scheduler import Jobs, bind, make_scheduler
from bot.steps.approval.model import Outcome, RequestState, RequestView
from bot.steps.approval.step import ApprovalStep
from bot.steps.context import StepContext
from bot.steps.preflight.step import PreflightStep
from bot.steps.schedule.calendar import Calendar
from bot.steps.schedule.step import ScheduleStep
from bot.steps.schedule.windows import Window
from bot.store.jobs import JobTable
from sandbox.clock import FakeClock
from tests.databases import open_store
from tests.unit.bot.recorder import RecordingNotifier
from tests.unit.handlers import samples

#: the engine's clock starts at the database's time (approval deadlines are kept by the database)
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
PLAN = samples.plan()


class Harness:
    """The schedule step with the steps it works with (calendar, approval), on a clock the test moves;
    starting the purge is recorded instead of done."""

    def __init__(self, tmp_path: Path, **settings: Any) -> None:
        self.clock = FakeClock(NOW)
        self.store = open_store(f"sqlite:///{tmp_path / 'regclean.db'}", self.clock)
        self.notifier = RecordingNotifier()
        self.settings = Settings(approvers=("UBOB", "UCAROL", "UDAN"), **settings)
        self.engine = Engine(self.store, self.notifier, expected=self.settings.step_expected)
        ctx = StepContext(self.engine, self.store, self.notifier, self.settings, self._no_kube)
        self.calendar = Calendar(ctx)
        self.preflight = PreflightStep(ctx, self.calendar)
        self.approval = ApprovalStep(ctx, self.preflight, self.calendar)
        self.started: list[int] = []

        async def start_purge(request_id: int, requester: Requester) -> None:
            self.started.append(request_id)

        self.schedule = ScheduleStep(ctx, self.calendar, self.approval, start_purge)
        self.scheduler = make_scheduler()
        self.scheduler.start(paused=True)  # jobs are stored and listed, never run by time
        self.jobs = Jobs(self.scheduler, JobTable(self.store.db))
        self.engine.jobs = self.jobs

    @staticmethod
    def _no_kube() -> Any:
        raise AssertionError("scheduling never talks to the cluster")

    async def approved(self, ttl: timedelta = timedelta(hours=2)) -> RequestView:
        """A request approved by two people, followed as the runbook follows an approval: the requester's
        choice when windows are in use, otherwise the purge at once."""
        run = self.store.open_run("UALICE", "C1")
        request = self.approval.approvals.open(run.id, "UALICE", PLAN, 2, ttl)
        await self.approval.schedule_expiry(request)
        for user in ("UBOB", "UCAROL"):
            click = await self.approval.approve(request.id, user, may_approve=True)
        assert click.outcome == Outcome.COMPLETED
        view = self.approval.approvals.get(request.id)
        if not await self.schedule.offer_choice(view):
            self.started.append(view.id)
        await self.engine.drain()
        return self.approval.approvals.get(request.id)

    async def declare(self, start: timedelta, length: str = "4h") -> Window:
        """A window starting `start` after NOW."""
        return await self.calendar.declare(at(start), length, "UALICE", None)

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
        await h.schedule.purge_now(view.id, "UALICE")
    with pytest.raises(RunbookError, match="Only the person who asked"):
        await h.schedule.purge_at_window_start(view.id, "UBOB")
    said = await h.schedule.purge_at_window_start(view.id, "UALICE")
    assert "runs when the window starts" in said and h.started == []
    assert h.job(f"purge-at-window-{view.id}").next_run_time == window.start
    assert h.job(f"remind-window-{view.id}").next_run_time == window.start - timedelta(minutes=15)
    assert [j.kind for j in await h.schedule.scheduled()] == ["reminder", "purge", "expiry"]
    assert h.started == []
    assert "purge.scheduled" in [e.action for e in h.store.audit_log()]


async def test_a_scheduled_purge_runs_on_time_and_not_late(h: Harness) -> None:
    window = await h.declare(timedelta(hours=1))
    view = await h.approved()
    await h.schedule.purge_at_window_start(view.id, "UALICE")
    h.clock.set(window.start + timedelta(seconds=30))
    await h.schedule.purge_at_window(view.id, window.start)
    await h.engine.drain()
    assert h.started == [view.id]

    h.clock.set(NOW)
    late = await h.approved()
    h.clock.set(window.start + timedelta(minutes=40))  # the bot was down when the window started
    await h.schedule.purge_at_window(late.id, window.start)
    assert h.started == [view.id], "a late scheduled purge does not start on its own"
    notice = h.notifier.of("notice")[-1]
    assert "was not running then" in notice.text and "nothing was deleted" in notice.text
    assert notice.people == ("UALICE",) and notice.times == (window.start,)
    assert h.approval.approvals.get(late.id).state is RequestState.APPROVED


async def test_the_choice_says_when_the_approval_expires_before_the_window(h: Harness) -> None:
    await h.declare(timedelta(hours=3))
    view = await h.approved(ttl=timedelta(minutes=30))
    [choice] = h.notifier.of("choice")
    assert (
        not choice.can_schedule and choice.note is not None and "before the next window" in choice.note.text
    )
    with pytest.raises(RunbookError, match="expires before the next window"):
        await h.schedule.purge_at_window_start(view.id, "UALICE")


async def test_purge_now_inside_a_window_and_cancelling_a_scheduled_one(h: Harness) -> None:
    await h.declare(-timedelta(hours=1))
    view = await h.approved()
    [choice] = h.notifier.of("choice")
    assert choice.inside is not None and choice.coming is None, "inside, the window in the plan is this one"
    with pytest.raises(RunbookError, match="window is open now"):
        await h.schedule.purge_at_window_start(view.id, "UALICE")
    await h.schedule.purge_now(view.id, "UALICE")
    await h.engine.drain()
    assert h.started == [view.id]
    decided = [e for e in h.store.audit_log() if e.action == "purge.now"]
    assert [(e.actor, e.detail) for e in decided] == [
        ("UALICE", {"request": view.id, "fingerprint": view.fingerprint})
    ]
    with pytest.raises(RunbookError, match="No purge is scheduled for request"):
        await h.schedule.cancel_scheduled(view.id, "UALICE")


async def test_cancelling_a_scheduled_purge_is_audited(h: Harness) -> None:
    await h.declare(timedelta(hours=1))
    view = await h.approved()
    await h.schedule.purge_at_window_start(view.id, "UALICE")
    said = await h.schedule.cancel_scheduled(view.id, "UBOB")
    assert "Cancelled" in said and h.job(f"purge-at-window-{view.id}") is None
    assert h.job(f"remind-window-{view.id}") is None
    [cancelled] = [e for e in h.store.audit_log() if e.action == "purge.schedule.cancelled"]
    assert cancelled.actor == "UBOB" and cancelled.detail == {
        "request": view.id,
        "fingerprint": view.fingerprint,
    }


async def test_an_approval_that_lapses_while_waiting_for_its_window_cannot_start(h: Harness) -> None:
    await h.declare(timedelta(minutes=30))
    view = await h.approved()
    assert view.state is RequestState.APPROVED
    h.clock.set(view.expires_at)  # its deadline comes while it waits for the window
    assert await h.approval.expire(view.id), "the expiry job lapses an approved request that waited"
    with pytest.raises(RunbookError, match="is expired"):
        await h.schedule.purge_at_window_start(view.id, "UALICE")


async def test_the_expiry_reminder_names_the_approvers_who_have_not_answered(h: Harness) -> None:
    run = h.store.open_run("UALICE", "C1")
    request = h.approval.approvals.open(run.id, "UALICE", PLAN, 2, timedelta(minutes=30))
    h.approval.approvals.approve(request.id, "UBOB", may_approve=True, allow_self=False)
    await h.approval.remind(request.id)
    [notice] = h.notifier.of("notice")
    assert notice.people == ("UCAROL", "UDAN") and "needs 1 more approval" in notice.text
    h.approval.approvals.approve(request.id, "UCAROL", may_approve=True, allow_self=False)
    await h.approval.remind(request.id)
    assert len(h.notifier.of("notice")) == 1, "a reminder that is no longer useful is dropped"


async def test_a_step_running_past_its_expected_time_is_told_once_to_whoever_asked(h: Harness) -> None:
    run = h.store.open_run("UALICE", "C1")
    step = h.store.start_step(run.id, "backup", "UOSCAR")
    assert step is not None
    await h.schedule.step_overdue(step.id)
    [notice] = h.notifier.of("notice")
    assert notice.people == ("UOSCAR",) and "longer than expected" in notice.text
    h.store.finish_step(step.id, StepState.SUCCEEDED)
    await h.schedule.step_overdue(step.id)
    assert len(h.notifier.of("notice")) == 1


async def test_declaring_windows_refuses_a_time_without_offset_and_replaces_the_old_one(h: Harness) -> None:
    with pytest.raises(WindowError, match="no UTC offset"):
        await h.calendar.declare("2026-12-01T02:00", "4h", "UALICE", "Asia/Shanghai")
    first = await h.declare(timedelta(hours=5))
    second = await h.calendar.declare(at(timedelta(hours=30)), "2h", "UBOB", None)
    now = await h.calendar.now()
    coming, used = now.coming, now.used
    assert used and coming == second and coming != first
    assert await h.calendar.cancel("UALICE") == second
    assert (await h.calendar.now()).used is False
    actions = [e.action for e in h.store.audit_log()]
    assert actions.count("window.declared") == 2 and actions.count("window.cancelled") == 1


async def test_the_purge_gate_follows_the_windows_on_the_engine_clock(tmp_path: Path) -> None:
    start = NOW + timedelta(hours=1)
    h = Harness(tmp_path, windows=(f"{start.minute} {start.hour} * * * 2h",))
    try:
        run = h.store.open_run("UALICE", "C1")
        gate = {g.key: g for g in (await h.preflight.judge_now(run.id)).gates}["window"]
        assert not gate.passed and f"the next is {start:%Y-%m-%d %H:%M}" in gate.detail
        h.clock.set(start + timedelta(minutes=5))
        gate = {g.key: g for g in (await h.preflight.judge_now(run.id)).gates}["window"]
        assert gate.passed
    finally:
        h.scheduler.shutdown(wait=False)
        h.store.close()


async def test_after_a_restart_a_missed_expiry_runs_and_a_missed_reminder_is_dropped(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'regclean.db'}")
    first = make_scheduler()
    first.start(paused=True)
    past = datetime.now(UTC) - timedelta(minutes=10)  # both fell due while the bot was down
    Jobs(first, JobTable(store.db)).expire(7, past)
    Jobs(first, JobTable(store.db)).remind_expiry(7, past)
    first.shutdown(wait=False)

    expired, dropped = asyncio.Event(), asyncio.Event()
    reminded: list[int] = []

    class Target:
        async def expire_request(self, request_id: int) -> bool:
            expired.set()
            return True

        async def remind_expiry(self, request_id: int) -> None:
            reminded.append(request_id)

    def on_done(event: JobEvent) -> None:
        if event.job_id == "remind-expiry-7":
            dropped.set()

    bind(Target())  # type: ignore[arg-type]
    again = make_scheduler()
    again.add_listener(on_done, EVENT_JOB_EXECUTED)
    assert Jobs(again, JobTable(store.db)).restore() == 2
    again.start()
    try:
        await asyncio.wait_for(asyncio.gather(expired.wait(), dropped.wait()), 10)
        assert reminded == [] and again.get_job("remind-expiry-7") is None
        assert JobTable(store.db).rows() == [], "both are done with: neither comes back after another restart"
    finally:
        again.shutdown(wait=False)
        bind(None)
        store.close()


async def test_a_restore_that_would_outlast_the_window_is_warned_not_refused(h: Harness) -> None:
    run = h.store.open_run("UALICE", "C1")
    await h.schedule.warn_if_outlasting(run.id, "UALICE")
    assert h.notifier.of("notice") == [], "no windows: nothing to warn about"
    window = await h.declare(-timedelta(minutes=30), "2h")  # open now, for 90 more minutes
    await h.schedule.warn_if_outlasting(run.id, "UALICE")  # core 3h + plugins 3h expected by default
    [notice] = h.notifier.of("notice")
    assert "past the window's end" in notice.text and notice.times == (NOW + timedelta(hours=6), window.end)
    assert notice.people == ("UALICE",)
    h.clock.set(window.end + timedelta(minutes=1))
    await h.schedule.warn_if_outlasting(run.id, "UALICE")
    assert "started a restore while no maintenance window is open" in h.notifier.of("notice")[-1].text
