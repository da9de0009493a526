"""RestoreStep alone (with the ScheduleStep it warns through): the gate in front of the core restore, the
approver's override, and the order of core and plugins."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from actions.minio import PurgeResult
from bot.core.model import StepName, StepState
from bot.core.notifier import Requester
from bot.steps.approval.step import ApprovalStep
from bot.steps.preflight.step import PreflightStep
from bot.steps.purge.records import PurgeRecords
from bot.steps.restore.step import RestoreStep
from bot.steps.schedule.calendar import Calendar
from bot.steps.schedule.step import ScheduleStep
from tests.unit.bot.steps.context import ALICE, Fakes, finished_step, step_context
from tests.unit.handlers import samples

STALE_CACHE = "a stale blob cache would make a re-push leave images that cannot be pulled"


def restore(f: Fakes) -> RestoreStep:
    return RestoreStep(f.ctx, schedule(f, approval(f)))


def approval(f: Fakes) -> ApprovalStep:
    calendar = Calendar(f.ctx)
    return ApprovalStep(f.ctx, PreflightStep(f.ctx, calendar), calendar)


def schedule(f: Fakes, approval: ApprovalStep) -> ScheduleStep:
    async def start_purge(request_id: int, requester: Requester) -> None:
        raise AssertionError("a restore never starts a purge")

    return ScheduleStep(f.ctx, Calendar(f.ctx), approval, start_purge)


def purged(f: Fakes, result: PurgeResult) -> int:
    """The active run, with a purge (of an approval request) that did `result`."""
    run = f.store.open_run("UALICE", "C1")
    plan = samples.plan(run=run.id)
    request = approval(f).approvals.open(run.id, "UALICE", plan, 2, timedelta(minutes=30))
    step_id = finished_step(f.store, run.id, StepName.PURGE, StepState.SUCCEEDED)
    PurgeRecords(f.store.db).save(run.id, step_id, request.id, result)
    return run.id


def restore_steps(f: Fakes) -> list[str]:
    run = f.store.active_run()
    assert run is not None
    return [s.name for s in run.steps if s.name.startswith("restore")]


async def test_the_core_restore_without_a_purge_is_refused_with_the_stale_cache_explained(
    tmp_path: Path,
) -> None:
    with step_context(tmp_path) as f:  # the cluster must not be touched
        f.store.open_run("UALICE", "C1")
        assert await restore(f).core(ALICE) is False
        [(requester, reason)] = f.notifier.of("refused")
        assert (
            requester == ALICE and STALE_CACHE in reason and "`/regclean restore core --override`" in reason
        )
        assert restore_steps(f) == []


@pytest.mark.parametrize(
    "result",
    [samples.purge_result(empty=False, objects_after=12), samples.purge_result(registry_ready=False)],
    ids=["bucket-not-empty", "registry-not-ready"],
)
async def test_a_purge_that_left_the_registry_unfit_keeps_the_gate_shut(
    tmp_path: Path, result: PurgeResult
) -> None:
    with step_context(tmp_path) as f:
        purged(f, result)
        assert await restore(f).core(ALICE) is False
        assert STALE_CACHE in f.refusals()[0] and restore_steps(f) == []


async def test_an_override_needs_an_approver_and_is_audited(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:  # no registry settings: the step fails before any node is reached
        run = f.store.open_run("UALICE", "C1")
        step = restore(f)
        assert await step.core(ALICE, override=True, may_override=False) is False
        assert f.refusals() == ["Only an approver may override the restore's gate."]
        assert restore_steps(f) == []
        assert "restore.override" not in [e.action for e in f.store.audit_log(run.id)]

        bob = Requester("UBOB", "C1")
        assert await step.core(bob, override=True, may_override=True) is False
        assert len(f.refusals()) == 1, "the approver's override passes the gate"
        overrides = [e for e in f.store.audit_log(run.id) if e.action == "restore.override"]
        assert [(e.actor, e.detail) for e in overrides] == [("UBOB", {"purged": False})]
        after = f.store.active_run()
        assert after is not None
        core = after.latest(StepName.RESTORE_CORE)
        assert core is not None and core.state is StepState.FAILED and core.requested_by == "UBOB"
        assert core.error is not None and "REGCLEAN_REGISTRY" in core.error


async def test_after_a_purge_that_emptied_the_bucket_the_core_restore_runs(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        purged(f, samples.purge_result())
        assert await restore(f).core(ALICE) is False, "it fails for lack of settings, past the gate"
        assert f.refusals() == [] and restore_steps(f) == ["restore_core"]


async def test_plugins_are_refused_until_the_core_restore_succeeded(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:  # the cluster must not be touched
        step = restore(f)
        first = "Restore the core images first: `/regclean restore core` (runbook step 5)."
        assert await step.plugins(ALICE) is None
        run = f.store.open_run("UALICE", "C1")
        finished_step(f.store, run.id, StepName.RESTORE_CORE, StepState.FAILED)
        assert await step.plugins(ALICE, retry_failed=True) is None
        assert f.refusals() == [first, first]
        assert restore_steps(f) == ["restore_core"]
