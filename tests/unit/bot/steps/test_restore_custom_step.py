"""RestoreCustomStep alone, on fakes, and how the close judges the custom images."""

from __future__ import annotations

from pathlib import Path

from bot.core.model import StepName, StepState
from bot.steps.close.judge import check_custom, left_to_do
from bot.steps.close.report import CatalogCheck, CustomCheck, InventoryCheck
from bot.steps.export.model import CustomImages, ExportedTag, Waiver
from bot.steps.export.records import ExportRecords
from bot.steps.export.repush import CustomPush, RestoreCustomStep
from bot.steps.preflight.records import PreflightRecords
from tests.unit.bot.steps.context import ALICE, NOW, finished_step, step_context
from tests.unit.handlers import samples

A, B, C = "retail/a:1", "retail/b:2", "retail/c:3"


async def test_before_the_core_restore_the_push_is_refused(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        f.store.open_run("UALICE", "C1")
        assert await RestoreCustomStep(f.ctx).run(ALICE) is None
        assert f.refusals() == ["Restore the core images first: `/regclean restore core` (runbook step 5)."]


async def test_with_nothing_exported_it_succeeds_at_once_saying_so(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        finished_step(f.store, run.id, StepName.RESTORE_CORE, StepState.SUCCEEDED)
        preflight = finished_step(f.store, run.id, StepName.PREFLIGHT, StepState.SUCCEEDED)
        PreflightRecords(f.store.db).save_preflight(
            run.id, preflight, samples.record(custom=(A,), run_id=run.id, recorded_at=NOW)
        )
        ExportRecords(f.store.db).waive(run.id, [A], "UBOB")
        assert await RestoreCustomStep(f.ctx).run(ALICE) == ()
        step = f.store.active_run().latest(StepName.RESTORE_CUSTOM)  # type: ignore[union-attr]
        assert step is not None and step.state is StepState.SUCCEEDED
        assert step.summary == "No custom image was exported; nothing to push back."
        [report] = f.notifier.of("images")
        assert report.finished and report.action == "push" and report.done == ()


async def test_a_retry_with_nothing_failed_is_refused_with_a_sentence(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        finished_step(f.store, run.id, StepName.RESTORE_CORE, StepState.SUCCEEDED)
        step = RestoreCustomStep(f.ctx)
        pushed = finished_step(f.store, run.id, StepName.RESTORE_CUSTOM, StepState.SUCCEEDED)
        step.results.save(run.id, pushed, (CustomPush(A, "sha256:aa", True, True, None),))
        assert await step.run(ALICE, retry_failed=True) is None
        failed = f.store.active_run().latest(StepName.RESTORE_CUSTOM)  # type: ignore[union-attr]
        assert failed is not None and failed.state is StepState.FAILED
        assert failed.error == "No custom image failed in the last push; there is nothing to retry."


def exported(tag: str) -> ExportedTag:
    return ExportedTag(tag, "/x/run-1", "sha256:" + "a" * 64, "m", 1, 1, 1, NOW, NOW, None)


def test_the_close_names_each_custom_image_pulled_not_back_or_waived_with_its_workloads() -> None:
    images = CustomImages({A: exported(A), B: exported(B)}, {C: Waiver(C, "UBOB", NOW)})
    pushed = {A: (True, None), B: (False, "pushed, but does not pull: missing blob: sha256:ff of retail/b:2")}
    check = check_custom((A, B, C, "retail/d:4"), images, pushed, {C: ("shop/web",)})
    assert check == CustomCheck(
        pulled=(A,),
        not_back=(
            "retail/b:2: pushed, but does not pull: missing blob: sha256:ff of retail/b:2",
            "retail/d:4: neither exported nor waived",
        ),
        waived=("retail/c:3 (waived by UBOB; used by shop/web)",),
    )
    catalog = CatalogCheck(1, 1, 1, 1, (), (), (), (), (A, B, C))
    inventory = InventoryCheck(1, 2, 0, 0, 0, 0, ())
    run = samples.RUN
    todo = left_to_do(
        run, catalog=catalog, inventory=inventory, failed_images=[], verified_all=True, failed_packages=[],
        archives=[], custom=check,
    )  # fmt: skip
    assert any("2 exported custom images do not pull" in t and "--retry-failed" in t for t in todo)
    assert any("lost for good, as waived: retail/c:3 (waived by UBOB; used by shop/web)" in t for t in todo)
    assert not any("Push the custom images from your export again" in t for t in todo)
