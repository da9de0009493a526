"""The runbook: its steps, what each one does, and what it leaves in the store (design §3)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from actions.backup import BackupResult, NodeProgress, back_up
from actions.errors import ActionError
from actions.inventory import Inventory
from actions.kube import KubeClient, KubeReader
from actions.slices import in_slices
from bot.config.settings import Settings
from bot.core.model import RunView, SnapshotView, StepState, StepView
from bot.core.notifier import InventoryReport, Notifier, Requester
from bot.steps.backup.plan import BackupPlanner, backup_planner
from bot.steps.close.step import CloseSteps
from bot.steps.inventory.codec import inventory_lines
from bot.steps.inventory.diff import InventoryDiff, diff_inventories
from bot.store.runs import Store

log = logging.getLogger(__name__)

KubeFactory = Callable[[], KubeReader]
StepBody = Callable[[RunView, StepView, Requester], Awaitable[object]]
P = ParamSpec("P")
T = TypeVar("T")


class Runbook(CloseSteps):
    """The runbook's steps: what each one does, and what it leaves in the store.

    Inventory and backup are here; the preflight, the approval and the purge come from
    `PreflightSteps` and `PurgeSteps`, the restore and the verification from `RestoreSteps`, the
    close of the run from `CloseSteps`.
    """

    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        kube: KubeFactory,
        *,
        page_size: int = 500,
        backup_plan: BackupPlanner | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__(store, notifier, kube, settings)
        self._page_size = page_size
        self._backup_plan = backup_plan
        self._last_inventory: tuple[int | None, Inventory | None] = (None, None)
        """the newest snapshot this process stored, so comparing with it needs no reload"""

    @classmethod
    def from_settings(
        cls, settings: Settings, store: Store, notifier: Notifier, *, kube: KubeFactory | None = None
    ) -> Runbook:
        """The runbook as configured: the cluster from KUBECONFIG, backups as the settings say."""
        factory: KubeFactory = kube or (lambda: KubeClient.from_config(settings.kubeconfig))
        return cls(
            store,
            notifier,
            factory,
            page_size=settings.inventory_page_size,
            backup_plan=backup_planner(settings, factory),
            settings=settings,
        )

    def start_inventory(self, requester: Requester) -> None:
        """Record both inventories in the background; a refusal goes to the requester.

        Returns at once, without touching the store, so that Slack is acknowledged first.
        """
        self._spawn(self._requested(requester, "inventory", self._inventory))

    async def record_inventory_now(self, requester: Requester) -> tuple[StepView, Inventory | None]:
        """Record the inventory and wait for it (the CLI); the inventory is None when the step failed."""
        run, step = await self._start(requester, "inventory")
        return await self._inventory(run, step, requester)

    def start_backup(self, requester: Requester) -> None:
        """Back up every control-plane node in the background; a refusal goes to the requester."""
        self._spawn(self._requested(requester, "backup", self._backup))

    async def back_up_now(self, requester: Requester) -> tuple[StepView, BackupResult | None]:
        """Back up and wait for it (the CLI); the result is None when the step could not run at all."""
        run, step = await self._start(requester, "backup")
        return await self._backup(run, step, requester)

    async def _inventory(
        self, run: RunView, step: StepView, requester: Requester
    ) -> tuple[StepView, Inventory | None]:
        inventory = await self._guarded(run, step, requester, lambda: self._read_inventory(run, step))
        if inventory is None:
            return await self._db(self._store.run_step, step.id), None
        # Encoding and comparing 10,000s of rows is CPU work: done in slices on the loop, so that
        # acknowledgements are never stuck behind it (a worker thread would fight for the GIL).
        data = "\n".join(await in_slices(inventory_lines(inventory)))
        snapshot = await self._db(
            self._store.save_inventory, run.id, step.id, requester.user, self._clock.now(), data
        )
        cached_id, cached = self._last_inventory
        previous = await self._db(self._store.latest_inventory, before_id=snapshot.id, skip_id=cached_id)
        before = cached if previous is not None and previous.id == cached_id else None
        diff = await _compare(previous, before, inventory)
        self._last_inventory = (snapshot.id, inventory)
        done = await self._db(
            self._store.finish_step, step.id, StepState.SUCCEEDED, summary=_summary(inventory)
        )
        report = InventoryReport(snapshot=snapshot, inventory=inventory, previous=previous, diff=diff)
        run = await self._refresh(run)
        await self._call(self._notifier.inventory_recorded(run, done, report))
        await self._show(run)
        return done, inventory

    async def _backup(
        self, run: RunView, step: StepView, requester: Requester
    ) -> tuple[StepView, BackupResult | None]:
        where: dict[str, NodeProgress] = {}

        async def progress(p: NodeProgress) -> None:
            where[p.address] = p
            await self._call(self._notifier.backup_progress(run, step, tuple(where.values())))

        async def work() -> BackupResult:
            if self._backup_plan is None:
                raise ActionError("This regclean was built without a backup plan.")
            return await back_up(await self._backup_plan(), progress)

        result = await self._guarded(run, step, requester, work)
        if result is None:
            return await self._db(self._store.run_step, step.id), None
        await self._db(self._store.save_backups, run.id, step.id, result)
        verified = sum(n.verified for n in result.nodes)
        summary = f"{verified} of {len(result.nodes)} nodes verified"
        if result.verified:
            done = await self._db(self._store.finish_step, step.id, StepState.SUCCEEDED, summary=summary)
        else:
            problems = "; ".join(f"{n.node}: {n.problem}" for n in result.nodes if not n.verified)
            done = await self._db(
                self._store.finish_step,
                step.id,
                StepState.FAILED,
                summary=summary,
                error=f"{summary}. {problems}",
            )
        run = await self._refresh(run)
        await self._call(self._notifier.backup_finished(run, done, result))
        if not result.verified:
            await self._call(self._notifier.step_failed(run, done, requester))
        await self._show(run)
        return done, result


def _summary(inventory: Inventory) -> str:
    clusters = {o.cluster for o in inventory.operators} | {
        i.cluster for p in inventory.plugins for i in p.installed
    }
    return f"{len(inventory.operators)} operators and {len(inventory.plugins)} plugins over {len(clusters)} clusters"


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
