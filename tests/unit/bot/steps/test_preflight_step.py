"""PreflightStep alone: waivers of custom images, the acknowledgement of unverified packages, and the
gates judged on the FakeClock."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest

from actions.backup import BackupResult, NodeBackup
from actions.inventory import Inventory
from actions.violet_output import Verification
from bot.core.errors import RunbookError
from bot.core.model import Said, StepName, StepState
from bot.steps.export.check import ExportCheck
from bot.steps.export.step import ExportStep
from bot.steps.inventory.codec import inventory_lines
from bot.steps.preflight.model import PreflightRecord
from bot.steps.preflight.records import PreflightRecords
from bot.steps.preflight.step import PreflightStep
from bot.steps.schedule.calendar import Calendar
from bot.store.runs import Store
from tests.unit.bot.steps.context import NOW, Fakes, finished_step, step_context
from tests.unit.handlers import samples


def preflight(f: Fakes) -> PreflightStep:
    return PreflightStep(f.ctx, Calendar(f.ctx))


def saved(
    store: Store, run_id: int, custom: tuple[str, ...] = ("team-a/app", "team-b/api")
) -> PreflightRecord:
    """A preflight record of the run, as the preflight step stores it."""
    step_id = finished_step(store, run_id, StepName.PREFLIGHT, StepState.SUCCEEDED)
    record = samples.record(custom=custom, run_id=run_id, recorded_at=NOW)
    return PreflightRecords(store.db).save_preflight(run_id, step_id, record)


async def test_custom_images_waived_by_an_approver_hold_gate_5_and_an_old_acknowledgement_waives_nothing(
    tmp_path: Path,
) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        step_id = finished_step(f.store, run.id, StepName.PREFLIGHT, StepState.SUCCEEDED)
        record = samples.record(custom=("team-a/app:1", "team-b/api:2"), run_id=run.id, recorded_at=NOW)
        stored = PreflightRecords(f.store.db).save_preflight(
            run.id, step_id, dataclasses.replace(record, custom_ack_by="UBOB")
        )
        step = preflight(f)
        gate = {g.key: g for g in (await step.judge_now(run.id)).gates}["registry"]
        assert not gate.passed, "an acknowledgement stored before exports waives nothing"
        assert "2 of 2 custom images are neither exported nor waived" in gate.detail
        said = await ExportStep(f.ctx).waive("UBOB", ("team-a/app:1",))
        assert said == Said("You waived team-a/app:1: the purge may delete them unexported.")
        half = {g.key: g for g in (await step.judge_now(run.id)).gates}["registry"]
        assert not half.passed and "team-b/api:2: not exported" in half.detail
        assert "1 waived: team-a/app:1 (by UBOB)" in half.detail
        await ExportStep(f.ctx).waive("UCAROL", ("team-b/api:2", "team-a/app:1"))
        report = await step.judge_now(run.id, stored)
        held = {g.key: g for g in report.gates}["registry"]
        assert held.passed and "2 waived: team-a/app:1 (by UBOB), team-b/api:2 (by UCAROL)" in held.detail
        assert report.images is not None and set(report.images.waivers) == {"team-a/app:1", "team-b/api:2"}
        said_by = f.notifier.of("notice")
        notices = [n.text for n in said_by]
        # the approver is one of the notice's people, mentioned by the Notifier; the text is plain
        assert len(notices) == 2 and notices[0].startswith("waived 1 custom image:")
        assert said_by[0].people == ("UBOB",) and "<@" not in notices[0]
        assert "team-b/api:2 (used by" in notices[1], "each waived tag is named with its workloads"


async def test_unverified_packages_are_acknowledged_once_and_the_verify_gate_then_holds(
    tmp_path: Path,
) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        step_id = finished_step(f.store, run.id, StepName.PREFLIGHT, StepState.SUCCEEDED)
        unverified = Verification(gpg=("envoy-gateway-operator.tgz",), missing=("cilium-v4.2.17.tgz",))
        record = samples.record(run_id=run.id, recorded_at=NOW, verification=unverified)
        stored = PreflightRecords(f.store.db).save_preflight(run.id, step_id, record)
        step = preflight(f)
        before = {g.key: g.passed for g in (await step.judge_now(run.id)).gates}
        assert not before["verify"]
        said = await step.acknowledge_unverified(stored.id, "UBOB")
        assert said.text.startswith("You acknowledged 1 packages that no signature or checksum vouches for")
        [(report, user)] = f.notifier.of("verify_ack")
        assert user == "UBOB" and {g.key: g.passed for g in report.gates}["verify"]
        again = await step.acknowledge_unverified(stored.id, "UCAROL")
        assert again == Said("These packages were already acknowledged by {0}.", ("UBOB",))
        assert [e.action for e in f.store.audit_log(run.id)].count("unverified_packages.acknowledged") == 1
        verified = saved(f.store, run.id)
        with pytest.raises(RunbookError, match="Every package of this preflight has a verification file"):
            await step.acknowledge_unverified(verified.id, "UBOB")


async def test_a_waiver_names_custom_images_of_this_runs_preflight_or_is_refused(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        export = ExportStep(f.ctx)
        with pytest.raises(RunbookError, match="No run is active"):
            await export.waive("UBOB", ("team-a/app",))
        run = f.store.open_run("UALICE", "C1")
        with pytest.raises(RunbookError, match="run `/regclean preflight` first"):
            await export.waive("UBOB", ("team-a/app",))
        saved(f.store, run.id)
        with pytest.raises(RunbookError, match=r"Name the custom images to waive: `/regclean waive REPO:TAG"):
            await export.waive("UBOB", ())
        with pytest.raises(RunbookError, match="Not custom images of this run's preflight: acp/core:latest"):
            await export.waive("UBOB", ("team-a/app", "acp/core:latest"))
        assert (await ExportCheck(f.ctx).stored(run.id)).waivers == {}, "a refused waiver waives nothing"
        assert [e.action for e in f.store.audit_log(run.id)].count("custom_image.waived") == 0


async def test_the_gates_of_an_empty_run_fail_and_the_inventory_ages_on_the_clock(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        step = preflight(f)
        run = f.store.open_run("UALICE", "C1")
        empty = {g.key: g for g in (await step.judge_now(run.id)).gates}
        assert list(empty) == ["inventory", "backup", "packages", "verify", "registry", "window"]
        assert not empty["inventory"].passed and empty["inventory"].detail == "No inventory in this run."
        assert not empty["backup"].passed and empty["backup"].detail == "No backup in this run."
        assert not empty["packages"].passed and not empty["registry"].passed
        assert empty["window"].passed, "no windows configured: the window never gates"

        inventory_step = finished_step(f.store, run.id, StepName.INVENTORY, StepState.SUCCEEDED)
        data = "\n".join(inventory_lines(Inventory(operators=(), plugins=())))
        f.store.save_inventory(run.id, inventory_step, "UALICE", NOW, data)
        f.clock.advance(timedelta(minutes=10))
        backup_step = finished_step(f.store, run.id, StepName.BACKUP, StepState.SUCCEEDED)
        nodes = tuple(
            NodeBackup(
                f"master-{i}", a, f"/cpaas/backup/{a}-minio.tar", 100, 9, "ab" * 32, True, None, f.clock.now()
            )
            for i, a in enumerate(("127.0.0.11", "127.0.0.12", "127.0.0.13"), 1)
        )
        f.store.save_backups(run.id, backup_step, BackupResult(nodes))
        held = {g.key: g.passed for g in (await step.judge_now(run.id)).gates}
        assert held["inventory"] and held["backup"]

        f.clock.advance(timedelta(hours=24))  # REGCLEAN_INVENTORY_MAX_AGE is 24h by default
        aged = {g.key: g for g in (await step.judge_now(run.id)).gates}
        assert not aged["inventory"].passed and "older than 24 h" in aged["inventory"].detail
        assert aged["backup"].passed


async def test_a_record_handed_in_is_judged_instead_of_the_stored_one(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        record = saved(f.store, run.id)
        step = preflight(f)
        stored = {g.key: g.passed for g in (await step.judge_now(run.id)).gates}
        assert not stored["registry"], "custom images neither exported nor waived yet"
        plain = dataclasses.replace(record, custom=())
        assert {g.key: g.passed for g in (await step.judge_now(run.id, plain)).gates}["registry"]


async def test_the_checklists_gate_line_follows_the_gates_once_they_change_after_the_preflight(
    tmp_path: Path,
) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        saved(f.store, run.id, custom=("team-a/app:1",))
        step = preflight(f)

        def line() -> str:
            fresh = f.store.run(run.id)
            done = fresh.latest(StepName.PREFLIGHT) if fresh is not None else None
            assert done is not None and done.summary is not None
            return done.summary

        await step.regate()
        before = line()
        assert "gates hold; not yet:" in before and "registry" in before.split("not yet:")[1]
        shown = len(f.notifier.of("run_changed"))
        await step.regate()
        assert len(f.notifier.of("run_changed")) == shown, "an unchanged line is not shown again"
        await ExportStep(f.ctx).waive("UBOB", ("team-a/app:1",))
        await step.regate()
        after = line()
        assert "registry" not in after and after != before
        [checklist] = f.notifier.of("run_changed")[shown:]
        latest = checklist.latest(StepName.PREFLIGHT)
        assert latest is not None and latest.summary == after, "the checklist shows the new line"


async def test_no_gate_line_is_restated_before_a_preflight_succeeded(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        run = f.store.open_run("UALICE", "C1")
        finished_step(f.store, run.id, StepName.PREFLIGHT, StepState.FAILED)
        await preflight(f).regate()
        fresh = f.store.run(run.id)
        assert fresh is not None and [s.summary for s in fresh.steps] == [None]
        assert f.notifier.of("run_changed") == []
