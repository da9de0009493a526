"""CloseStep alone (with the InventoryStep and ApprovalStep it reads through): when a run may not be closed.
Every refusal comes before the cluster, the registry or the bucket is read."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.model import StepName, StepState
from bot.steps.approval.step import ApprovalStep
from bot.steps.close.step import CloseStep
from bot.steps.inventory.step import InventoryStep
from bot.steps.preflight.step import PreflightStep
from bot.steps.schedule.calendar import Calendar
from tests.unit.bot.steps.context import ALICE, Fakes, finished_step, step_context


def close_step(f: Fakes) -> CloseStep:
    calendar = Calendar(f.ctx)
    approval = ApprovalStep(f.ctx, PreflightStep(f.ctx, calendar), calendar)
    return CloseStep(f.ctx, InventoryStep(f.ctx), approval)


async def test_without_an_active_run_the_close_is_refused_and_opens_none(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:  # the cluster must not be touched
        await close_step(f).close(ALICE)
        [(requester, reason)] = f.notifier.of("refused")
        assert requester == ALICE and reason == "There is no active run to close."
        assert f.store.active_run() is None


async def test_a_running_step_is_named_in_the_refusal(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        finished_step(f.store, run.id, StepName.INVENTORY, StepState.SUCCEEDED)
        running = f.store.start_step(run.id, StepName.BACKUP, "UBOB")
        assert running is not None
        await close_step(f).close(ALICE)
        assert f.refusals() == [
            f"The backup step of run #{run.id} is running. Close the run once it finished."
        ]
        after = f.store.active_run()
        assert after is not None and after.latest(StepName.CLOSE) is None


@pytest.mark.parametrize("core", [None, StepState.FAILED, StepState.INTERRUPTED])
async def test_after_a_purge_the_run_stays_open_until_the_core_images_are_restored(
    tmp_path: Path, core: StepState | None
) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        finished_step(f.store, run.id, StepName.PURGE, StepState.INTERRUPTED)
        if core is not None:
            finished_step(f.store, run.id, StepName.RESTORE_CORE, core)
        await close_step(f).close(ALICE)
        [reason] = f.refusals()
        assert reason.startswith(
            f"Run #{run.id} started a purge (interrupted), and its core images are not restored yet"
        )
        assert "`/regclean restore core`" in reason and "`--override` by an approver" in reason
        after = f.store.active_run()
        assert after is not None and after.id == run.id and after.latest(StepName.CLOSE) is None
