"""Runbook steps 1 and 2: record the installed operators and cluster plugins, and compare with the last."""

from __future__ import annotations

from actions.inventory import Inventory, InventoryProgress, InventoryRequest, record_inventory
from actions.slices import in_slices
from bot.core.model import RunView, SnapshotView, StepName, StepState, StepView
from bot.core.notifier import InventoryReport, Requester
from bot.steps.context import StepContext
from bot.steps.inventory.codec import inventory_lines
from bot.steps.inventory.diff import InventoryDiff, diff_inventories


class InventoryStep:
    """`/regclean inventory`: both inventories, stored as a snapshot of the run and posted with the diff."""

    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx
        self._last: tuple[int | None, Inventory | None] = (None, None)
        """the newest snapshot this process stored, so comparing with it needs no reload"""

    async def record(self, requester: Requester) -> tuple[StepView, Inventory | None] | None:
        """Record the inventory (spawned, so that Slack is acknowledged first); a refusal goes to the
        requester, and then there is no result."""
        return await self._ctx.engine.requested(requester, StepName.INVENTORY, self._record)

    async def record_now(self, requester: Requester) -> tuple[StepView, Inventory | None]:
        """Record the inventory and wait for it (the CLI); the inventory is None when the step failed."""
        run, step = await self._ctx.engine.start(requester, StepName.INVENTORY)
        return await self._record(run, step, requester)

    async def read(self, run: RunView, step: StepView) -> Inventory:
        """Both inventories, read from the cluster with progress on the checklist (the close reads it too)."""
        engine = self._ctx.engine

        async def progress(p: InventoryProgress) -> None:
            text = f"{p.operators_seen:,} operatorviews and {p.plugins_seen:,} modulepluginviews read"
            await engine.tell(self._ctx.notifier.step_progress(run, step, text))

        request = InventoryRequest(page_size=self._ctx.settings.inventory_page_size)
        with self._ctx.kube_reader() as kube:
            return await record_inventory(kube, request, progress)

    async def save(
        self, run: RunView, step: StepView, requester: Requester, inventory: Inventory
    ) -> SnapshotView:
        """Store a snapshot of the inventory in the run."""
        # Encoding 10,000s of rows is CPU work: done in slices on the loop, so that acknowledgements
        # are never stuck behind it (a worker thread would fight for the GIL).
        data = "\n".join(await in_slices(inventory_lines(inventory)))
        return await self._ctx.engine.db(
            self._ctx.store.save_inventory, run.id, step.id, requester.user, self._ctx.clock.now(), data
        )

    async def _record(
        self, run: RunView, step: StepView, requester: Requester
    ) -> tuple[StepView, Inventory | None]:
        engine, store = self._ctx.engine, self._ctx.store
        inventory = await engine.guarded(run, step, requester, lambda: self.read(run, step))
        if inventory is None:
            return await engine.db(store.run_step, step.id), None
        snapshot = await self.save(run, step, requester, inventory)
        cached_id, cached = self._last
        previous = await engine.db(store.latest_inventory, before_id=snapshot.id, skip_id=cached_id)
        before = cached if previous is not None and previous.id == cached_id else None
        diff = await _compare(previous, before, inventory)
        self._last = (snapshot.id, inventory)
        counts = {"operators": len(inventory.operators), "plugins": len(inventory.plugins)}
        done = await engine.finish(step, StepState.SUCCEEDED, summary=_summary(inventory), counts=counts)
        report = InventoryReport(snapshot=snapshot, inventory=inventory, previous=previous, diff=diff)
        run = await engine.refresh(run)
        await engine.tell(self._ctx.notifier.inventory_recorded(run, done, report))
        await engine.show(run)
        return done, inventory


def _summary(inventory: Inventory) -> str:
    clusters = {o.cluster for o in inventory.operators} | {
        i.cluster for p in inventory.plugins for i in p.installed
    }
    summary = f"{len(inventory.operators)} operators and {len(inventory.plugins)} plugins over {len(clusters)} clusters"
    if inventory.skipped:
        summary += f"; skipped API groups that did not answer: {', '.join(sorted(inventory.skipped))}"
    return summary


async def _compare(
    previous: SnapshotView | None, previous_inventory: Inventory | None, inventory: Inventory
) -> InventoryDiff | None:
    """The diff from the previous snapshot (already in hand, or as stored)."""
    if previous is None:
        return None
    before = previous_inventory or previous.inventory
    if before is None:
        return None
    return await diff_inventories(before, inventory)
