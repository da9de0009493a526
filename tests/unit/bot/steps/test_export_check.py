"""Gate 5 over the custom images, as a table; and the export read back again whenever the gates are
judged, so that a blob changed on disk since the export holds the gate shut (an OCI layout written
here, no registry needed)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from actions.exported import ExportedImage, ImageOutcome
from bot.core.model import RunView, StepName, StepState
from bot.steps.export.model import CustomImages, ExportedTag, Waiver
from bot.steps.export.records import ExportRecords
from bot.steps.preflight.gates import registry_gate
from bot.steps.preflight.records import PreflightRecords
from bot.steps.preflight.step import PreflightStep
from bot.steps.schedule.calendar import Calendar
from sandbox.registry.images import make_oci_index_layout, make_oci_layout
from tests.unit.bot.steps.context import NOW, Fakes, finished_step, step_context
from tests.unit.handlers import samples

A, B = "retail/a:1", "retail/b:2"
DIGEST = "sha256:" + "a" * 64


def export(tag: str, *, ok: bool = True, verified: bool = True, problem: str | None = None) -> ExportedTag:
    return ExportedTag(
        tag, "/x/run-1", DIGEST if ok else None, "m", 1, 2, 3, NOW, NOW if verified else None, problem
    )


def waiver(tag: str) -> Waiver:
    return Waiver(tag, "UBOB", NOW)


@pytest.mark.parametrize(
    ("exports", "waivers", "passed", "says"),
    [
        ({}, {}, False, f"2 of 2 custom images are neither exported nor waived: {A}: not exported, {B}: not exported"),
        ({A: export(A)}, {}, False, f"1 of 2 custom images are neither exported nor waived: {B}: not exported"),
        ({A: export(A), B: export(B)}, {}, True, "2 custom images exported and verified (at /x/run-1)."),
        ({A: export(A)}, {B: waiver(B)}, True, f"1 custom images exported and verified (at /x/run-1); 1 waived: {B} (by UBOB)."),
        ({}, {A: waiver(A), B: waiver(B)}, True, f"2 waived: {A} (by UBOB), {B} (by UBOB)."),
        ({A: export(A, ok=False, problem="registry error: 500"), B: export(B)}, {}, False, f"{A}: registry error: 500"),
        ({A: export(A, verified=False, problem="blob sha256:ff changed on disk; used by retail/a:1"), B: export(B)},
         {}, False, f"{A}: blob sha256:ff changed on disk; used by retail/a:1"),
        ({A: export(A, verified=False, problem="changed"), B: export(B)}, {A: waiver(A)}, True, f"1 waived: {A}"),
    ],
)  # fmt: skip
def test_gate_5_holds_when_each_custom_image_is_exported_and_verified_or_waived(
    exports: dict[str, ExportedTag], waivers: dict[str, Waiver], passed: bool, says: str
) -> None:
    gate = registry_gate(samples.record(custom=(A, B)), CustomImages(exports, waivers))
    assert gate.passed is passed and says in gate.detail
    assert (gate.remedy is None) is passed
    if not passed:
        assert "`/regclean export`" in (gate.remedy or "") and "`/regclean waive REPO:TAG…`" in (
            gate.remedy or ""
        )


def test_gate_5_without_custom_images_needs_no_export() -> None:
    gate = registry_gate(samples.record(custom=()), None)
    assert gate.passed and gate.detail.endswith("No custom images.")


def write_export(root: Path) -> dict[str, str]:
    """An OCI layout holding A (an index of two platforms) and B (one image), as the export names them."""
    index = json.loads((make_oci_index_layout(root / "a", seed=3) / "index.json").read_text())["manifests"][0]
    single = json.loads((make_oci_layout(root / "b", seed=4) / "index.json").read_text())["manifests"][0]
    layout = root / "run-1"
    (layout / "blobs" / "sha256").mkdir(parents=True)
    for part in ("a", "b"):
        for blob in (root / part / "blobs" / "sha256").iterdir():
            (layout / "blobs" / "sha256" / blob.name).write_bytes(blob.read_bytes())
    entries = [
        {**entry, "annotations": {"org.opencontainers.image.ref.name": tag}}
        for tag, entry in ((A, index), (B, single))
    ]
    (layout / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": entries}))
    return {A: index["digest"], B: single["digest"]}


async def test_a_blob_changed_on_disk_after_the_export_fails_gate_5_naming_the_blob_and_the_tag(
    tmp_path: Path,
) -> None:
    digests = write_export(tmp_path / "exports")
    with step_context(tmp_path, {"REGCLEAN_EXPORT_DIR": str(tmp_path / "exports")}) as f:
        run = f.store.open_run("UALICE", "C1")
        assert run.id == 1
        preflight = finished_step(f.store, run.id, StepName.PREFLIGHT, StepState.SUCCEEDED)
        PreflightRecords(f.store.db).save_preflight(
            run.id, preflight, samples.record(custom=(A, B), run_id=run.id, recorded_at=NOW)
        )
        exported = finished_step(f.store, run.id, StepName.EXPORT, StepState.SUCCEEDED)
        outcomes = [
            ImageOutcome(t, True, None, ExportedImage(t, d, "m", 1, 1, 1)) for t, d in digests.items()
        ]
        ExportRecords(f.store.db).save_export(
            run.id, exported, str(tmp_path / "exports" / "run-1"), outcomes, outcomes
        )
        step = PreflightStep(f.ctx, Calendar(f.ctx))

        f.clock.advance(timedelta(minutes=5))
        held = {g.key: g for g in (await step.judge_now(run.id)).gates}["registry"]
        assert held.passed, held.detail
        assert ExportRecords(f.store.db).custom_images(run.id).exports[A].verified_at == NOW + timedelta(
            minutes=5
        )

        blobs = tmp_path / "exports" / "run-1" / "blobs" / "sha256"
        layer = json.loads((blobs / digests[A].split(":")[1]).read_text())
        child = layer["manifests"][1]["digest"].split(":")[1]
        manifest = json.loads((tmp_path / "exports" / "run-1" / "blobs" / "sha256" / child).read_text())
        blob = manifest["layers"][0]["digest"]
        path = tmp_path / "exports" / "run-1" / "blobs" / "sha256" / blob.split(":")[1]
        data = bytearray(path.read_bytes())
        data[100] ^= 0xFF
        path.write_bytes(bytes(data))

        gate = {g.key: g for g in (await step.judge_now(run.id)).gates}["registry"]
        assert not gate.passed
        assert f"{A}: blob {blob}" in gate.detail and f"used by {A}" in gate.detail
        assert B not in gate.detail.split("neither exported nor waived:")[1].split(".")[0], "B is intact"
        stored = ExportRecords(f.store.db).custom_images(run.id).exports
        assert stored[A].verified_at is None and stored[A].problem is not None and stored[B].ok


UNREACHABLE_EXPORT = {
    "REGCLEAN_EXPORT_DIR": "sftp://10.9.9.9/cpaas/exports",
    "REGCLEAN_NODES": "10.0.0.1,10.0.0.2,10.0.0.3",
}
"""An export directory on a host that is not one of the nodes regclean reaches over SSH."""


def exported_to_an_unreachable_node(f: Fakes) -> RunView:
    """A run whose preflight found custom image A and whose export of it succeeded, to
    `UNREACHABLE_EXPORT`'s directory: a read-back there can only fail."""
    run = f.store.open_run("UALICE", "C1")
    preflight = finished_step(f.store, run.id, StepName.PREFLIGHT, StepState.SUCCEEDED)
    PreflightRecords(f.store.db).save_preflight(
        run.id, preflight, samples.record(custom=(A,), run_id=run.id, recorded_at=NOW)
    )
    step_id = finished_step(f.store, run.id, StepName.EXPORT, StepState.SUCCEEDED)
    done = [ImageOutcome(A, True, None, ExportedImage(A, DIGEST, "m", 1, 1, 1))]
    ExportRecords(f.store.db).save_export(run.id, step_id, "sftp://10.9.9.9/cpaas/exports/run-1", done, done)
    return run


async def test_an_export_on_a_node_regclean_does_not_reach_fails_gate_5_with_the_reason(
    tmp_path: Path,
) -> None:
    with step_context(tmp_path, UNREACHABLE_EXPORT) as f:
        run = exported_to_an_unreachable_node(f)
        gate = {g.key: g for g in (await PreflightStep(f.ctx, Calendar(f.ctx)).judge_now(run.id)).gates}[
            "registry"
        ]
        assert not gate.passed
        assert (
            f"{A}: the export at sftp://10.9.9.9/cpaas/exports/run-1 cannot be read: REGCLEAN_EXPORT_DIR names "
            "10.9.9.9, which is not a node regclean reaches over SSH (10.0.0.1, 10.0.0.2, 10.0.0.3)"
        ) in gate.detail


async def test_the_checklists_gate_line_takes_the_export_as_last_verified_and_reads_nothing_back(
    tmp_path: Path,
) -> None:
    with step_context(
        tmp_path, UNREACHABLE_EXPORT
    ) as f:  # the node is out of reach: a read-back would fail gate 5
        run = exported_to_an_unreachable_node(f)
        step = PreflightStep(f.ctx, Calendar(f.ctx))
        await step.regate()
        fresh = f.store.run(run.id)
        line = fresh.latest(StepName.PREFLIGHT) if fresh is not None else None
        assert line is not None and line.summary is not None
        assert "registry" not in line.summary.split("not yet:")[-1], line.summary
        assert ExportRecords(f.store.db).custom_images(run.id).exports[A].ok, "nothing was read back"
        read = {g.key: g for g in (await step.judge_now(run.id)).gates}["registry"]
        assert not read.passed, "the request and the purge's start read it back"
