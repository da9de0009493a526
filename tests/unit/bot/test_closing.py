"""The close of a run: the catalog and inventory comparisons, what is left to do, and the stored report."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from actions.inventory import Inventory
from bot.core.model import RunState, StepState
from bot.steps.close.judge import check_inventory, compare_catalog, in_catalog, left_to_do, step_times
from bot.steps.close.records import CloseRecords
from bot.steps.close.report import Bucket, FinalReport, report_from_dict, report_to_dict
from bot.steps.inventory.diff import diff_inventories
from bot.store.runs import Store
from tests.databases import open_store
from tests.unit.bot.test_inventory_diff import op, plugin

REG = "registry.example:5000"


def test_the_catalog_comparison_names_what_is_back_gone_new_and_missing() -> None:
    before = {"acp/archon": ("v4.1.0", "v4.2.5"), "acp/core": ("latest",), "retail/shop": ("1.0",)}
    after = {"acp/archon": ("v4.2.5",), "acp/core": ("latest",), "acp/new": ("v1",)}
    check = compare_catalog(
        before,
        after,
        registry=REG,
        workload_images=[f"{REG}/acp/archon:v4.2.5", f"{REG}/retail/shop:1.0", f"{REG}/acp/core"],
        custom=["retail/shop"],
    )
    assert check.back == ("acp/archon:v4.2.5", "acp/core:latest")
    assert check.gone == ("acp/archon:v4.1.0", "retail/shop:1.0")
    assert check.new == ("acp/new:v1",)
    assert check.missing == (f"{REG}/retail/shop:1.0",)
    assert check.custom_missing == ("retail/shop",)
    assert (check.repositories_before, check.tags_before, check.repositories_after, check.tags_after) == (
        3,
        4,
        3,
        3,
    )


def test_an_image_is_in_the_catalog_by_tag_by_default_tag_or_by_digest() -> None:
    catalog = {"acp/core": ("latest",), "acp/archon": ("v1",)}
    assert in_catalog(f"{REG}/acp/core", REG, catalog)
    assert in_catalog(f"{REG}/acp/archon@sha256:{'a' * 64}", REG, catalog)
    assert not in_catalog(f"{REG}/acp/archon:v2", REG, catalog)
    assert not in_catalog(f"{REG}/acp/gone:v1", REG, catalog)


async def test_the_inventory_check_names_operators_and_plugins_that_changed() -> None:
    before = Inventory(
        operators=(op("a", "a.v1"), op("b", "b.v1"), op("c", "c.v1")),
        plugins=(plugin("argocd", ("global", "v1")), plugin("logging", ("global", "v2"))),
    )
    renamed = dataclasses.replace(op("c", "c.v1"), display_name="C, renamed")
    after = Inventory(
        operators=(op("a", "a.v2"), renamed, op("d", "d.v1")),
        plugins=(plugin("argocd", ("global", "v1.1")),),
    )
    check = check_inventory(before, after, await diff_inventories(before, after), ids=(3, 9))
    assert check.problems == (
        "operator global/b: no longer Installed (was b.v1)",
        "operator global/a: CSV a.v2, was a.v1",
        "plugin logging: no longer listed (was v2 on global)",
        "plugin argocd: installed v1.1 on global, was v1 on global",
    ), "a new operator or a new display name is not a problem"
    assert (check.operators_before, check.operators_after, check.plugins_before, check.plugins_after) == (
        3,
        3,
        2,
        1,
    )
    same = check_inventory(before, before, await diff_inventories(before, before), ids=(3, 9))
    assert same.problems == ()
    unknown = check_inventory(None, after, None, ids=(None, 9))
    assert unknown.problems and "compare by hand" in unknown.problems[0]


def _run_with(store: Store, *steps: tuple[str, StepState]) -> int:
    run = store.open_run("UALICE", "C1")
    for name, state in steps:
        step = store.start_step(run.id, name, "UALICE")
        assert step is not None
        store.finish_step(step.id, state)
    return run.id


def test_left_to_do_starts_with_the_most_urgent_and_always_keeps_the_backups(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    run_id = _run_with(store, ("purge", StepState.SUCCEEDED), ("restore_core", StepState.FAILED))
    run = store.run(run_id)
    assert run is not None
    catalog = compare_catalog({}, {}, registry=REG, workload_images=[f"{REG}/acp/a:v1"], custom=["retail/x"])
    inventory = check_inventory(None, Inventory((), ()), None, ids=(None, 1))
    todo = left_to_do(
        run,
        catalog=catalog,
        inventory=inventory,
        failed_images=[],
        verified_all=False,
        failed_packages=["argocd.amd64.v1.tgz"],
        archives=["10.0.0.1:/backup/10.0.0.1-minio.tar"],
    )
    assert todo[0] == "Restore the core images: `/regclean restore core`."
    assert "--retry-failed" in todo[1] and "argocd.amd64.v1.tgz" in todo[1]
    assert "Workloads use 1 images that are not back" in todo[2]
    assert todo[3] == "Pull every workload image: `/regclean verify`."
    assert "compare by hand" in todo[4] and "retail/x" in todo[5]
    assert todo[-1].startswith("Keep the backups (10.0.0.1:/backup/10.0.0.1-minio.tar)")
    times = {t.name: t for t in step_times(run)}
    assert times["restore_core"].state == "failed" and times["restore_core"].attempts == 1
    assert times["inventory"].state == "not run" and "close" not in times


def _report(run_id: int, *, succeeded: bool) -> FinalReport:
    catalog = compare_catalog({"a/b": ("1",)}, {"a/b": ("1",)}, registry=REG, workload_images=[], custom=[])
    return FinalReport(
        run_id=run_id,
        closed_by="UALICE",
        requester="UALICE",
        approvers=("UBOB", "UCAROL"),
        bucket=Bucket("registry", 1000, 10, 400, 4),
        objects_removed=10,
        steps=(),
        inventory=check_inventory(None, Inventory((), ()), None, ids=(None, 1)),
        catalog=catalog,
        images_checked=3,
        images_pullable=3,
        verified_scope="all",
        packages_pushed=2,
        packages_total=2,
        left_to_do=("Keep the backups",),
        succeeded=succeeded,
    )


def test_the_report_round_trips_and_reclaimed_is_before_minus_after() -> None:
    report = _report(1, succeeded=True)
    assert report_from_dict(report_to_dict(report)) == report
    assert report.bucket.reclaimed == 600
    assert Bucket("registry", None, None, 4, 1).reclaimed is None


def test_closing_writes_the_step_the_report_and_the_run_state_together(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    records = CloseRecords(store.db)
    run = store.open_run("UALICE", "C1")
    step = store.start_step(run.id, "close", "UALICE")
    assert step is not None
    assert records.close(step.id, _report(run.id, succeeded=False), "run failed")
    closed = store.run(run.id)
    assert closed is not None and closed.state is RunState.FAILED
    assert closed.latest("close") is not None and closed.latest("close").state is StepState.SUCCEEDED  # type: ignore[union-attr]
    assert records.report(run.id) == _report(run.id, succeeded=False)
    last = records.last_closed()
    assert last is not None and last[:2] == (run.id, "failed")
    assert any(e.action == "run.failed" for e in store.audit_log(run.id))
    assert store.active_run() is None


def test_a_run_closed_without_a_purge_is_abandoned_not_failed(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    run = store.open_run("UALICE", "C1")
    step = store.start_step(run.id, "close", "UALICE")
    assert step is not None
    report = dataclasses.replace(_report(run.id, succeeded=False), purged=False)
    assert report.state == "abandoned"
    assert CloseRecords(store.db).close(step.id, report, "run abandoned")
    closed = store.run(run.id)
    assert closed is not None and closed.state is RunState.ABANDONED
    todo = left_to_do(
        closed,
        catalog=report.catalog,
        inventory=report.inventory,
        failed_images=[],
        verified_all=False,
        failed_packages=[],
        archives=[],
    )
    assert not any("Restore the core" in t for t in todo), "nothing was purged, so nothing to restore"


def test_a_close_whose_step_was_interrupted_writes_nothing(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'db.sqlite'}")
    records = CloseRecords(store.db)
    run = store.open_run("UALICE", "C1")
    step = store.start_step(run.id, "close", "UALICE")
    assert step is not None
    store.finish_step(step.id, StepState.INTERRUPTED, error="stopped")
    assert not records.close(step.id, _report(run.id, succeeded=True), "run succeeded")
    active = store.active_run()
    assert active is not None and active.state is RunState.ACTIVE, "the run stays open to be closed again"
    assert records.report(run.id) is None
    assert records.last_closed() is None
