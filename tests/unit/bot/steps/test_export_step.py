"""ExportStep alone, on fakes: what it does before it reaches the registry."""

from __future__ import annotations

from pathlib import Path

from bot.core.model import StepName, StepState
from bot.steps.export.model import ImagesReport
from bot.steps.export.step import ExportStep, human_size
from bot.steps.preflight.records import PreflightRecords
from tests.unit.bot.steps.context import ALICE, NOW, finished_step, step_context
from tests.unit.handlers import samples


async def test_without_a_preflight_the_export_fails_saying_to_run_one(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        assert await ExportStep(f.ctx).export(ALICE) is None
        run = f.store.active_run()
        assert run is not None
        step = run.latest(StepName.EXPORT)
        assert step is not None and step.state is StepState.FAILED
        assert step.error is not None and "run `/regclean preflight` first" in step.error


async def test_with_no_custom_images_the_export_succeeds_at_once_saying_so(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        step_id = finished_step(f.store, run.id, StepName.PREFLIGHT, StepState.SUCCEEDED)
        PreflightRecords(f.store.db).save_preflight(
            run.id, step_id, samples.record(custom=(), run_id=run.id, recorded_at=NOW)
        )
        report = await ExportStep(f.ctx).export(ALICE)
        assert isinstance(report, ImagesReport) and report.finished and report.done == ()
        assert report.verdict == "The preflight found no custom images."
        step = f.store.active_run().latest(StepName.EXPORT)  # type: ignore[union-attr]
        assert step is not None and step.state is StepState.SUCCEEDED and step.summary == report.verdict
        assert f.notifier.of("images") == [report]


def test_sizes_read_as_the_exports_own_messages_write_them() -> None:
    assert [human_size(n) for n in (0, 1023, 1536, 31 * 2**20 + 2**19, 3 * 2**40)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "31.5 MiB",
        "3072.0 GiB",
    ]
