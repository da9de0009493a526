"""The preflight's judgement and the records it leaves."""

from __future__ import annotations

import dataclasses
import shlex
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from actions.backup import NodeBackup
from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from actions.mc import purge_command
from actions.minio import PurgeResult
from actions.registry_cache import CacheClearing
from actions.violet_output import Shown, Verification
from actions.workloads import pod_images, repository_of
from bot.config.settings import Settings
from bot.config.targets import minio_target, plugin_dir
from bot.core.model import SnapshotView
from bot.steps.approval.plan import plan_of
from bot.steps.preflight.gates import registry_gate
from bot.steps.preflight.gather import judge
from bot.steps.preflight.model import PreflightRecord
from bot.steps.preflight.records import PreflightRecords
from bot.steps.purge.records import PurgeRecords
from bot.steps.schedule.gate import window_gate
from bot.steps.schedule.windows import parse_recurring
from bot.store.runs import Store
from tests.databases import open_store
from tests.unit.handlers import samples

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday
NO_WINDOWS = window_gate(NOW, (), ())
SETTINGS = Settings.load({"REGCLEAN_MINIO_SELECTOR": "app=minio"})
INVENTORY = Inventory(
    operators=(
        OperatorRow(
            "global", "clickhouse", "Installed", "clickhouse-operator", "clickhouse-operator.v4.2.0", "CH"
        ),
    ),
    plugins=(PluginRow("capi-provider-aws", "agnostic", (Installation("global", "v4.0.10"),), "AWS"),),
)
SHOWN = (
    Shown(
        "clickhouse-operator.v4.2.0.tgz",
        "CH",
        "bundle",
        "4.2.0",
        "h.io/acp/clickhouse-operator-bundle:v4.2.0",
    ),
    Shown(
        "capi-provider-aws-v4.0.10.tgz",
        "AWS",
        "moduleplugin",
        "v4.0.10",
        "h.io/acp/chart-capi-provider-aws:v4.0.10",
    ),
)
PACKAGES = tuple(s.file for s in SHOWN)


def snapshot(age: timedelta = timedelta(hours=1)) -> SnapshotView:
    return SnapshotView(3, 1, NOW - age, "UALICE", INVENTORY)


def backups(finished: datetime = NOW - timedelta(minutes=10)) -> list[NodeBackup]:
    return [
        NodeBackup(a, a, f"/cpaas/backup/{a}-minio.tar", 100, 9, "ab" * 32, True, None, finished)
        for a in ("127.0.0.11", "127.0.0.12", "127.0.0.13")
    ]


def record(
    *,
    custom: tuple[str, ...] = ("retail/shop",),
    ack: str | None = None,
    shown: tuple[Shown, ...] = SHOWN,
    verification: Verification | None = None,
    verify_ack: str | None = None,
) -> PreflightRecord:
    return PreflightRecord(
        id=5,
        run_id=1,
        recorded_at=NOW,
        recorded_by="UALICE",
        installer_node="127.0.0.11",
        plugin_dir="/cpaas/installer/plugins",
        packages=tuple(s.file for s in shown),
        registry="reg:5000",
        repositories={"acp/archon": ("v4.2.5", "v4.1.0"), "retail/shop": ("1.0",)},
        custom=custom,
        workload_images=("reg:5000/acp/archon:v4.2.5",),
        custom_ack_by=ack,
        custom_ack_at=NOW if ack else None,
        shown=shown,
        verification=verification or Verification(gpg=PACKAGES[:1], checksum=PACKAGES[1:]),
        verify_ack_by=verify_ack,
        verify_ack_at=NOW if verify_ack else None,
        custom_workloads={tag: ("retail/shop-7f9",) for tag in custom},
        registry_cache=samples.CACHE,
    )


def test_every_gate_holds_only_when_everything_was_recorded_and_acknowledged() -> None:
    report = judge(SETTINGS, snapshot(), backups(), record(custom=()), NOW, NO_WINDOWS)
    assert report.passed, [g.detail for g in report.failed]
    assert [g.key for g in report.gates] == [
        "inventory",
        "backup",
        "packages",
        "verify",
        "registry",
        "window",
    ]


def test_each_unmet_gate_is_named_with_what_would_satisfy_it() -> None:
    cases = {
        "inventory": judge(
            SETTINGS, snapshot(timedelta(hours=30)), backups(), record(custom=()), NOW, NO_WINDOWS
        ),
        "backup": judge(SETTINGS, snapshot(), backups()[:2], record(custom=()), NOW, NO_WINDOWS),
        "packages": judge(
            SETTINGS, snapshot(), backups(), record(custom=(), shown=SHOWN[:1]), NOW, NO_WINDOWS
        ),
        "verify": judge(
            SETTINGS,
            snapshot(),
            backups(),
            record(custom=(), verification=Verification(missing=PACKAGES)),
            NOW,
            NO_WINDOWS,
        ),
        "registry": judge(SETTINGS, snapshot(), backups(), record(), NOW, NO_WINDOWS),
    }
    for key, report in cases.items():
        assert [g.key for g in report.failed] == [key], key
        assert report.failed[0].remedy, key
    assert "capi-provider-aws v4.0.10" in cases["packages"].failed[0].detail
    nothing = judge(SETTINGS, None, [], None, NOW, NO_WINDOWS)
    assert {g.key for g in nothing.failed} == {"inventory", "backup", "packages", "verify", "registry"}
    saturday = parse_recurring("0 2 * * SAT 4h")
    outside = judge(SETTINGS, snapshot(), backups(), record(custom=()), NOW, window_gate(NOW, (), [saturday]))
    assert [g.key for g in outside.failed] == ["window"] and "/regclean window" in (
        outside.failed[0].remedy or ""
    )


def test_the_purge_command_is_the_runbooks_with_configured_inputs_quoted() -> None:
    assert purge_command(minio_target(SETTINGS), versioned=False) == (
        '. /etc/config/minio.env && mc --insecure alias set minio https://127.0.0.1:9000 "$MINIO_ACCESS_KEY" '
        '"$MINIO_SECRET_KEY" && mc --insecure --json rm --recursive --force minio/registry/'
    )
    odd = Settings.load(
        {
            "REGCLEAN_MINIO_ENV_FILE": "/etc/my config/minio.env",
            "REGCLEAN_MINIO_BUCKET": "reg.images-1",  # a bucket name cannot carry shell syntax
            "REGCLEAN_MINIO_SELECTOR": "app=minio",
        }
    )
    words = shlex.split(purge_command(minio_target(odd), versioned=True))
    assert words[1] == "/etc/my config/minio.env" and words[-2:] == ["--versions", "minio/reg.images-1/"]
    assert plugin_dir(SETTINGS) == "/cpaas/installer/plugins"


def test_pod_images_and_their_repositories() -> None:
    pod = {
        "spec": {
            "initContainers": [{"name": "i", "image": "reg:5000/acp/init:1"}],
            "containers": [{"name": "a", "image": "reg:5000/acp/archon:v4.2.5"}, {"name": "b"}],
        }
    }
    assert pod_images(pod) == ["reg:5000/acp/init:1", "reg:5000/acp/archon:v4.2.5"]
    assert repository_of("reg:5000/acp/archon:v4.2.5", "reg:5000") == "acp/archon"
    assert repository_of("reg:5000/acp/archon@sha256:" + "a" * 64, "reg:5000") == "acp/archon"
    assert repository_of("reg:5000/acp/archon", "reg:5000") == "acp/archon"


def test_a_preflight_and_a_purge_are_stored_and_read_back(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    run = store.open_run("UALICE", "C1")
    step = store.start_step(run.id, "preflight", "UALICE")
    assert step is not None
    records = PreflightRecords(store.db)
    saved = records.save_preflight(run.id, step.id, record(custom=("retail/shop:1.0",)))
    assert records.latest_preflight(run.id) == saved and saved.custom_ack_by is None
    assert saved.shown == SHOWN and saved.custom_workloads == {"retail/shop:1.0": ("retail/shop-7f9",)}
    result = PurgeResult("minio-0", "registry", 10, 2, 2, 0, 0, True, ("registry-a",), True)
    purges = PurgeRecords(store.db)
    purges.save(run.id, step.id, _request(store, run.id), result)
    latest = purges.latest(run.id)
    assert latest is not None and latest[0] == result
    store.close()


def _request(store: Store, run_id: int) -> int:
    from bot.steps.approval.records import Approvals

    plan = plan_of(SETTINGS, run_id, snapshot(), backups(), record(), {}, gates=(), window="", versioning="")
    return Approvals(store.db).open(run_id, "UALICE", plan, 2, timedelta(minutes=5)).id


def test_packages_without_verification_file_are_acknowledged_once_and_audited(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    run = store.open_run("UALICE", "C1")
    step = store.start_step(run.id, "preflight", "UALICE")
    assert step is not None
    records = PreflightRecords(store.db)
    unverified = Verification(gpg=PACKAGES[:1], missing=PACKAGES[1:])
    saved = records.save_preflight(run.id, step.id, record(custom=(), verification=unverified))
    assert saved.verification == unverified and saved.verify_ack_by is None
    before = judge(SETTINGS, snapshot(), backups(), saved, NOW, NO_WINDOWS)
    assert [g.key for g in before.failed] == ["verify"]
    with ThreadPoolExecutor(4) as pool:
        outcomes = list(
            pool.map(lambda u: records.acknowledge_unverified(saved.id, u), ["UB", "UC", "UD", "UE"])
        )
    assert sum(moved for moved, _ in outcomes) == 1
    acknowledged = records.preflight(saved.id)
    assert acknowledged is not None and acknowledged.verify_ack_by in {"UB", "UC", "UD", "UE"}
    assert acknowledged.custom_ack_by is None, "the custom images' acknowledgement is another one"
    audited = [e for e in store.audit_log(run.id) if e.action == "unverified_packages.acknowledged"]
    assert len(audited) == 1 and audited[0].detail == {"preflight": saved.id, "packages": list(PACKAGES[1:])}
    assert judge(SETTINGS, snapshot(), backups(), acknowledged, NOW, NO_WINDOWS).passed
    store.close()


def test_a_preflight_from_before_violet_show_asks_for_a_new_preflight_instead_of_naming_every_package() -> (
    None
):
    older = dataclasses.replace(record(custom=()), shown=(), verification=None)
    report = judge(SETTINGS, snapshot(), backups(), older, NOW, NO_WINDOWS)
    gates = {g.key: g for g in report.failed}
    assert set(gates) == {"packages", "verify"}
    assert gates["packages"].detail == "The plugin directory was not read yet."
    assert gates["packages"].remedy == "Run `/regclean preflight`."


def test_the_registry_gate_holds_only_when_the_registry_cache_can_be_cleared() -> None:
    held = registry_gate(record(custom=()))
    assert held.passed and "Registry cache: inmemory: the 3 registry pods are deleted" in held.detail
    static = CacheClearing(
        "cannot", "s3", "inmemory", True, 3, ("10.0.0.1",), reason="the registry runs as static pods"
    )
    refused = registry_gate(dataclasses.replace(record(custom=()), registry_cache=static))
    assert not refused.passed and "cannot be cleared: the registry runs as static pods" in refused.detail
    old = registry_gate(dataclasses.replace(record(custom=()), registry_cache=None))
    assert not old.passed and "preflight" in (old.remedy or "")
