"""PurgeStep alone (with the ApprovalStep it claims requests from): a purge that must not start does not,
and never reaches the cluster."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

from bot.core.authz import Role
from bot.steps.approval.model import Outcome, RequestState, RequestView
from bot.steps.approval.plan import PlannedCustomImages
from bot.steps.approval.step import ApprovalStep
from bot.steps.preflight.model import PreflightRecord
from bot.steps.preflight.records import PreflightRecords
from bot.steps.preflight.step import PreflightStep
from bot.steps.purge.step import PurgeStep
from bot.steps.schedule.calendar import Calendar
from tests.unit.bot.steps.context import ALICE, Fakes, step_context
from tests.unit.handlers import samples


def steps(f: Fakes) -> tuple[ApprovalStep, PurgeStep]:
    calendar = Calendar(f.ctx)
    approval = ApprovalStep(f.ctx, PreflightStep(f.ctx, calendar), calendar)
    return approval, PurgeStep(f.ctx, approval)


async def requested(f: Fakes, approval: ApprovalStep, *approvers: str) -> RequestView:
    """A request of UALICE in the active run, approved by `approvers`."""
    run = f.store.open_run("UALICE", "C1")
    request = approval.approvals.open(run.id, "UALICE", samples.plan(run=run.id), 2, timedelta(minutes=30))
    for user in approvers:
        click = await approval.approve(request.id, user, may_approve=True)
        assert click.outcome in (Outcome.COUNTED, Outcome.COMPLETED)
    return await approval.get(request.id)


async def test_a_rejected_request_does_not_start_and_nothing_is_deleted(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:  # the cluster must not be touched
        approval, purge = steps(f)
        request = await requested(f, approval, "UBOB")
        await approval.reject(request.id, "UCAROL", may_approve=True)
        await purge.start(request.id, ALICE)
        [(requester, reason)] = f.notifier.of("refused")
        assert requester == ALICE
        assert (
            reason
            == f"The purge of request #{request.id} did not start: the request is rejected. Nothing was deleted."
        )
        assert (await approval.get(request.id)).state is RequestState.REJECTED
        run = f.store.active_run()
        assert run is not None and run.steps == (), "no purge step was started"
        assert purge.latest(run.id) is None


async def test_an_approved_request_whose_gates_no_longer_hold_is_void_and_does_not_start(
    tmp_path: Path,
) -> None:
    with step_context(tmp_path) as f:  # an empty run: no gate holds, so the cluster is never asked
        approval, purge = steps(f)
        request = await requested(f, approval, "UBOB", "UCAROL")
        assert request.state is RequestState.APPROVED
        await purge.start(request.id, ALICE)
        [reason] = f.refusals()
        assert reason.startswith(f"The purge of request #{request.id} did not start: the plan changed")
        assert "or a gate no longer holds" in reason and reason.endswith("Nothing was deleted.")
        assert (await approval.get(request.id)).state is RequestState.VOID
        run = f.store.active_run()
        assert run is not None and run.steps == ()
        assert "purge.void" in [e.action for e in f.store.audit_log(run.id)]
        await purge.start(request.id, ALICE)
        assert f.refusals()[-1].endswith("Nothing was deleted."), "a second start is refused as well"
        assert f.store.active_run() == run


class Approvers:
    """Who is an approver now: a group that lost a member since the request was approved."""

    def __init__(self, *users: str) -> None:
        self.users = set(users)

    async def has_role(self, user: str, role: Role) -> bool:
        return role is Role.APPROVER and user in self.users


async def test_an_approver_who_lost_the_role_since_voids_nothing_but_stops_the_purge(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:  # the cluster must not be touched
        calendar = Calendar(f.ctx)
        approval = ApprovalStep(f.ctx, PreflightStep(f.ctx, calendar), calendar)
        purge = PurgeStep(f.ctx, approval, Approvers("UBOB"))  # UCAROL was removed from the group
        request = await requested(f, approval, "UBOB", "UCAROL")
        assert request.state is RequestState.APPROVED
        await purge.start(request.id, ALICE)
        [reason] = f.refusals()
        assert reason == (
            f"The purge of request #{request.id} did not start: UCAROL is no longer an approver "
            "(REGCLEAN_APPROVERS), so the approval does not stand. Nothing was deleted; ask for a new request."
        )
        run = f.store.active_run()
        assert run is not None and run.steps == () and purge.latest(run.id) is None


async def test_the_request_flags_the_waived_tags_that_running_workloads_use(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        approval, _ = steps(f)
        run = f.store.open_run("UALICE", "C1")
        step = f.store.start_step(run.id, "preflight", "UALICE")
        assert step is not None
        record = PreflightRecord(
            0, run.id, f.ctx.clock.now(), "UALICE", "n", "/p", (), "r", {}, ("retail/a:1", "retail/b:2"), (),
            custom_workloads={"retail/a:1": ("retail-prod/order-service",), "retail/b:2": ()},
        )  # fmt: skip
        PreflightRecords(f.store.db).save_preflight(run.id, step.id, record)
        waived = PlannedCustomImages("/x/run-1", (), (("retail/a:1", "UBOB"), ("retail/b:2", "UBOB")))
        plan = dataclasses.replace(samples.plan(run=run.id), custom_images=waived)
        request = approval.approvals.open(run.id, "UALICE", plan, 2, timedelta(minutes=30))
        await approval.show(request.id)
        [notice] = f.notifier.of("approval")
        assert notice.in_use == {"retail/a:1": ("retail-prod/order-service",)}
