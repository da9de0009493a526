"""Runbook step 3: a verified backup of /cpaas/minio on every control-plane node."""

from __future__ import annotations

from actions.backup import BackupResult, NodeProgress, back_up
from actions.errors import ActionError
from bot.core.model import RunView, StepName, StepState, StepView
from bot.core.notifier import Requester
from bot.steps.backup.kept import KeptArchives, keep_apart
from bot.steps.backup.plan import BackupPlanner
from bot.steps.context import StepContext


class BackupStep:
    """`/regclean backup`: archive every node's MinIO directory, read it back, and store the verdict."""

    def __init__(self, ctx: StepContext, planner: BackupPlanner | None) -> None:
        self._ctx = ctx
        self._planner = planner
        self._kept = KeptArchives(ctx.db)

    async def back_up(self, requester: Requester) -> tuple[StepView, BackupResult | None] | None:
        """Back up every control-plane node (spawned); a refusal goes to the requester, and then there
        is no result."""
        return await self._ctx.engine.requested(requester, StepName.BACKUP, self._back_up)

    async def back_up_now(self, requester: Requester) -> tuple[StepView, BackupResult | None]:
        """Back up and wait for it (the CLI); the result is None when the step could not run at all."""
        run, step = await self._ctx.engine.start(requester, StepName.BACKUP)
        return await self._back_up(run, step, requester)

    async def _back_up(
        self, run: RunView, step: StepView, requester: Requester
    ) -> tuple[StepView, BackupResult | None]:
        engine, store, notifier = self._ctx.engine, self._ctx.store, self._ctx.notifier
        where: dict[str, NodeProgress] = {}

        async def progress(p: NodeProgress) -> None:
            where[p.address] = p
            await engine.tell(notifier.backup_progress(run, step, tuple(where.values())))

        async def work() -> BackupResult:
            if self._planner is None:
                raise ActionError("This regclean was built without a backup plan.")
            named = await engine.db(self._kept.named)
            return await back_up(keep_apart(await self._planner(), named, run.id, step.id), progress)

        result = await engine.guarded(run, step, requester, work)
        if result is None:
            return await engine.db(store.run_step, step.id), None
        await engine.db(store.save_backups, run.id, step.id, result)
        verified = sum(n.verified for n in result.nodes)
        summary = f"{verified} of {len(result.nodes)} nodes verified"
        counts = {
            "nodes": len(result.nodes),
            "nodes_verified": verified,
            "bytes": sum(n.bytes or 0 for n in result.nodes),
        }
        if result.verified:
            done = await engine.finish(step, StepState.SUCCEEDED, summary=summary, counts=counts)
        else:
            problems = "; ".join(f"{n.node}: {n.problem}" for n in result.nodes if not n.verified)
            done = await engine.finish(
                step, StepState.FAILED, summary=summary, error=f"{summary}. {problems}", counts=counts
            )
        run = await engine.refresh(run)
        await engine.tell(notifier.backup_finished(run, done, result))
        if not result.verified:
            await engine.tell(notifier.step_failed(run, done, requester))
        await engine.show(run)
        return done, result
