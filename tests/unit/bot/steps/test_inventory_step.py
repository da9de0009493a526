"""InventoryStep alone: the snapshot it stores, what it compares with, and how it fails."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.core.model import StepName, StepState
from bot.core.notifier import Requester
from bot.steps.inventory.step import InventoryStep
from sandbox.kube import KubeApiServer
from tests.conftest import operatorview, pluginview
from tests.unit.bot.steps.context import ALICE, NOW, kube_at, step_context

OSCAR = Requester("UOSCAR", "C1")


async def test_a_snapshot_is_stamped_with_the_clock_and_the_requester_and_compared_with_the_last(
    kube_api: KubeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    kube_api.load([operatorview("rds-operator"), pluginview("argocd", installed=[("global", "v1")])])
    with step_context(tmp_path, kube=kube_at(kubeconfig)) as f:
        step = InventoryStep(f.ctx)
        first, inventory = await step.record_now(OSCAR)
        assert first.state is StepState.SUCCEEDED and first.started_at == NOW
        assert first.summary == "1 operators and 1 plugins over 1 clusters"
        snapshot = f.store.latest_inventory()
        assert snapshot is not None and inventory is not None
        assert (snapshot.recorded_at, snapshot.recorded_by, snapshot.run_id) == (NOW, "UOSCAR", first.run_id)
        assert snapshot.inventory == inventory

        later = f.clock.advance(timedelta(minutes=7))
        kube_api.add(operatorview("new-operator"))
        second, _ = await step.record_now(ALICE)
        newest = f.store.latest_inventory()
        assert newest is not None and (newest.recorded_at, newest.recorded_by) == (later, "UALICE")
        assert second.run_id == first.run_id, "both recordings belong to the one active run"
        [(_, report_one), (_, report_two)] = f.notifier.of("inventory")
        assert report_one.previous is None and report_one.diff is None
        assert report_two.previous is not None and report_two.previous.id == snapshot.id
        assert [o.name for o in report_two.diff.operators.added] == ["new-operator"]


async def test_a_cluster_error_is_a_failed_step_that_says_why_and_stores_nothing(
    kube_api: KubeApiServer, kubeconfig: Path, tmp_path: Path
) -> None:
    kube_api.load([operatorview("rds-operator")])
    kube_api.fail("/apis/app.alauda.io/v1alpha1/operatorviews", 401, reason="Unauthorized")
    with step_context(tmp_path, kube=kube_at(kubeconfig)) as f:
        step, inventory = await InventoryStep(f.ctx).record_now(ALICE)
        assert inventory is None and step.state is StepState.FAILED
        assert step.error is not None and "401" in step.error and "operatorviews" in step.error
        [(failed, requester)] = f.notifier.of("failed")
        assert failed.id == step.id and requester == ALICE
        assert f.store.latest_inventory() is None and f.notifier.of("inventory") == []


async def test_an_inventory_while_one_runs_is_refused_without_reading_the_cluster(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:  # the cluster must not be touched
        run = f.store.open_run("UBOB", "C1")
        running = f.store.start_step(run.id, StepName.INVENTORY, "UBOB")
        assert running is not None
        f.clock.advance(timedelta(minutes=3))
        f.engine.spawn(InventoryStep(f.ctx).record(ALICE))
        await f.engine.drain()
        [reason] = f.refusals()
        assert f"The inventory step of run #{run.id} is already running (for 3m)" in reason
        after = f.store.run(run.id)
        assert after is not None and [s.id for s in after.steps] == [running.id]
