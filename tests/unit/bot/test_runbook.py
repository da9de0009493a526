"""The engine: steps in the background, their outcome in the store, restarts."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from actions.kube import KubeClient
from bot.config.settings import Settings
from bot.core.model import RunView, SnapshotView, StepState
from bot.core.notifier import Requester
from bot.runbook import Runbook
from bot.store.migrate import open_database
from bot.store.runs import Store
from sandbox.kube import KubeApiServer
from tests.conftest import operatorview, pluginview
from tests.databases import open_store
from tests.unit.bot.recorder import RecordingNotifier

ALICE = Requester("UALICE", "C1")


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'regclean.db'}"


def runbook(store: Store, notifier: RecordingNotifier, kubeconfig: Path) -> Runbook:
    return Runbook(store, notifier, lambda: KubeClient.from_config(str(kubeconfig)), Settings.load({}))


async def test_a_recorded_inventory_is_stored_with_who_asked_and_when(
    kube_api: KubeApiServer, kubeconfig: Path, db: str
) -> None:
    kube_api.load([operatorview("rds-operator"), pluginview("argocd", installed=[("global", "v1")])])
    store, notifier = open_store(db), RecordingNotifier()
    step, inventory = await runbook(store, notifier, kubeconfig).record_inventory_now(ALICE)
    assert step.state is StepState.SUCCEEDED
    assert inventory is not None and len(inventory.operators) == 1
    snapshot = store.latest_inventory()
    assert snapshot is not None
    assert snapshot.recorded_by == "UALICE" and snapshot.run_id == step.run_id
    assert snapshot.inventory is not None and snapshot.inventory == inventory
    [(_, report)] = notifier.of("inventory")
    assert report.previous is None and report.diff is None


async def test_a_second_recording_is_compared_with_the_first(
    kube_api: KubeApiServer, kubeconfig: Path, db: str
) -> None:
    kube_api.load([operatorview("rds-operator", csv="rds-operator.v4.2.2"), operatorview("gone-operator")])
    store, notifier = open_store(db), RecordingNotifier()
    engine = runbook(store, notifier, kubeconfig)
    await engine.record_inventory_now(ALICE)
    kube_api.remove("operatorviews", "global", "gone-operator")
    kube_api.add(operatorview("rds-operator", csv="rds-operator.v4.2.3"))
    kube_api.add(operatorview("new-operator"))
    await engine.record_inventory_now(ALICE)
    _, report = notifier.of("inventory")[-1]
    assert report.previous is not None
    assert [o.name for o in report.diff.operators.added] == ["new-operator"]
    assert [o.name for o in report.diff.operators.removed] == ["gone-operator"]
    assert [c.after.installed_csv for c in report.diff.operators.changed] == ["rds-operator.v4.2.3"]


async def test_a_failed_recording_is_a_failed_step_that_says_why(
    kube_api: KubeApiServer, kubeconfig: Path, db: str
) -> None:
    kube_api.fail("/apis/app.alauda.io/v1alpha2/modulepluginviews", 403, reason="Forbidden")
    store, notifier = open_store(db), RecordingNotifier()
    step, inventory = await runbook(store, notifier, kubeconfig).record_inventory_now(ALICE)
    assert inventory is None
    assert step.state is StepState.FAILED
    assert step.error is not None and "403" in step.error and "modulepluginviews" in step.error
    [(failed, requester)] = notifier.of("failed")
    assert failed.id == step.id and requester == ALICE
    assert store.latest_inventory() is None


class HoldingNotifier(RecordingNotifier):
    """Keeps a started step from going further until a request was refused (no timing involved)."""

    def __init__(self) -> None:
        super().__init__()
        self.refusal = asyncio.Event()

    async def run_changed(self, run: RunView) -> dict[str, Any] | None:
        if any(s.state == StepState.RUNNING for s in run.steps):
            await self.refusal.wait()
        return await super().run_changed(run)

    async def request_refused(self, requester: Requester, reason: str, gist: str | None = None) -> None:
        await super().request_refused(requester, reason, gist)
        self.refusal.set()


async def test_a_second_inventory_is_refused_while_one_is_running(
    kube_api: KubeApiServer, kubeconfig: Path, db: str
) -> None:
    kube_api.load([operatorview("rds-operator")])
    store, notifier = open_store(db), HoldingNotifier()
    engine = runbook(store, notifier, kubeconfig)
    engine.start_inventory(ALICE)
    engine.start_inventory(Requester("UBOB", "C1"))
    await engine.drain()
    [(_, reason)] = notifier.of("refused")
    assert "already running" in reason
    run = await engine.status()
    assert run is not None and [s.state for s in run.steps] == [StepState.SUCCEEDED]


async def test_a_notifier_outage_does_not_change_the_outcome(
    kube_api: KubeApiServer, kubeconfig: Path, db: str
) -> None:
    kube_api.load([operatorview("rds-operator")])
    store = open_store(db)
    step, inventory = await runbook(store, RecordingNotifier(fail=True), kubeconfig).record_inventory_now(
        ALICE
    )
    assert step.state is StepState.SUCCEEDED and inventory is not None


async def test_a_step_running_when_the_bot_stopped_is_interrupted_after_restart(
    kube_api: KubeApiServer, kubeconfig: Path, db: str
) -> None:
    kube_api.load([operatorview("rds-operator")])
    store = open_store(db)
    run = store.open_run("UALICE", "C1")
    started = store.start_step(run.id, "inventory", "UALICE")
    assert started is not None
    store.close()  # the process dies here

    restarted, notifier = open_store(db), RecordingNotifier()
    interrupted = await runbook(restarted, notifier, kubeconfig).restart.recover()
    assert [s.id for s in interrupted] == [started.id]
    after = restarted.run(run.id)
    assert after is not None and after.steps[0].state is StepState.INTERRUPTED
    assert "Record it again with `/regclean inventory`" in (after.steps[0].error or "")
    assert notifier.of("run_changed"), "the checklist is refreshed after a restart"
    [(told, whom)] = notifier.of("failed")
    assert told.id == started.id and whom.user == "UALICE", "whoever asked is told what to check"


async def test_stopping_the_engine_interrupts_a_running_step(
    kube_api: KubeApiServer, kubeconfig: Path, db: str
) -> None:
    kube_api.load([operatorview("rds-operator")])
    kube_api.set_latency(0.5)
    store, notifier = open_store(db), RecordingNotifier()
    engine = runbook(store, notifier, kubeconfig)
    engine.start_inventory(ALICE)
    await asyncio.wait_for(notifier.changed.wait(), 5)  # the step exists: its checklist was shown
    await engine.close()
    run = store.active_run()
    assert run is not None and [s.state for s in run.steps] == [StepState.INTERRUPTED]
    assert len(notifier.of("failed")) == 1, "the interruption is told once"
    assert store.latest_inventory() is None


async def test_the_audit_log_records_who_started_what(
    kube_api: KubeApiServer, kubeconfig: Path, db: str
) -> None:
    kube_api.load([operatorview("rds-operator")])
    store = open_store(db)
    await runbook(store, RecordingNotifier(), kubeconfig).record_inventory_now(ALICE)
    actions = [(e.actor, e.action) for e in store.audit_log()]
    assert ("UALICE", "run.opened") in actions
    assert ("UALICE", "inventory.started") in actions
    assert ("regclean", "inventory.succeeded") in actions


async def test_a_step_that_breaks_outside_its_error_handling_ends_as_failed(
    kube_api: KubeApiServer, kubeconfig: Path, db: str
) -> None:
    kube_api.load([operatorview("rds-operator")])

    class BrokenStore(Store):
        def save_inventory(self, *args: object, **kwargs: object) -> SnapshotView:
            raise RuntimeError("disk on fire")

    store = BrokenStore(open_database(db))
    engine = runbook(store, RecordingNotifier(), kubeconfig)
    engine.start_inventory(ALICE)
    await engine.drain()
    run = store.active_run()
    assert run is not None
    [step] = run.steps
    assert step.state is StepState.FAILED
    assert step.error is not None and "Internal error (incident" in step.error
    assert "disk on fire" not in step.error
