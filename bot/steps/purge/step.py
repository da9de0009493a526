"""Runbook step 4: empty the registry's bucket from inside the MinIO pod, prove it, restart the registry.

It starts only for the one caller that claims an approved request whose plan is unchanged
(docs/architecture.md, "The two-person rule").
"""

from __future__ import annotations

from datetime import datetime

from actions.errors import ActionError
from actions.minio import PurgeFailed, PurgeResult, purge
from bot.config.targets import minio_target, registry_pods
from bot.core.authz import Role, Roles
from bot.core.model import RunView, StepName, StepState, StepView
from bot.core.notifier import Requester
from bot.steps.approval.model import RequestState
from bot.steps.approval.step import ApprovalStep
from bot.steps.backup.plan import ssh_target
from bot.steps.context import StepContext
from bot.steps.purge.records import PurgeRecords


class PurgeStep:
    """The purge of an approved request: at most once, and only with the plan that was approved."""

    def __init__(self, ctx: StepContext, approval: ApprovalStep, roles: Roles | None = None) -> None:
        self._ctx = ctx
        self._approval = approval
        self._records = PurgeRecords(ctx.db)
        self._roles = roles
        """Who is an approver now; None skips the check (the CLI: group membership needs Slack)."""

    def latest(self, run_id: int) -> tuple[PurgeResult, datetime] | None:
        """What the run's newest purge did, and when it finished (blocking)."""
        return self._records.latest(run_id)

    async def start(self, request_id: int, requester: Requester) -> None:
        """Re-check the gates and the fingerprint, claim the request, and purge; at most once."""
        ctx, engine = self._ctx, self._ctx.engine
        lapsed = await self._lapsed_approvers(request_id)
        if lapsed:
            names = ", ".join(lapsed)  # plain IDs: a refusal is shown as text, never as mrkdwn
            await engine.tell(
                ctx.notifier.request_refused(
                    requester,
                    f"The purge of request #{request_id} did not start: {names} "
                    f"{'is' if len(lapsed) == 1 else 'are'} no longer an approver (REGCLEAN_APPROVERS), "
                    "so the approval does not stand. Nothing was deleted; ask for a new request.",
                )
            )
            return
        if not await self._approval.claim(request_id):
            view = await self._approval.get(request_id)
            why = (
                "the plan changed since it was approved (a new backup, inventory, preflight or MinIO pod), "
                "or a gate no longer holds"
                if view.state == RequestState.VOID
                else f"the request is {view.state}"
            )
            await engine.tell(
                ctx.notifier.request_refused(
                    requester,
                    f"The purge of request #{request_id} did not start: {why}. Nothing was deleted.",
                )
            )
            return

        async def body(run: RunView, step: StepView, who: Requester) -> None:
            await self._purge(run, step, who, request_id)

        await engine.requested(requester, StepName.PURGE, body)

    async def _lapsed_approvers(self, request_id: int) -> list[str]:
        """The approvals of the request whose approver has lost the role since (a group changed)."""
        if self._roles is None:
            return []
        view = await self._approval.get(request_id)
        return [user for user in view.approvals if not await self._roles.has_role(user, Role.APPROVER)]

    async def _purge(self, run: RunView, step: StepView, requester: Requester, request_id: int) -> None:
        ctx, engine = self._ctx, self._ctx.engine
        view = await self._approval.get(request_id)
        pod = str(view.plan.minio.pod)
        outcome: list[PurgeResult] = []

        async def progress(removed: int) -> None:
            await engine.tell(ctx.notifier.step_progress(run, step, f"{removed:,} objects removed"))

        async def work() -> PurgeResult:
            try:
                with ctx.kube_client() as kube:
                    result = await purge(
                        kube,
                        minio_target(ctx.settings),
                        registry_pods(ctx.settings),
                        pod,
                        progress,
                        versioning=view.plan.minio.versioning or "",
                        clearing=view.plan.registry_cache,
                        ssh_for=lambda address: ssh_target(ctx.settings, address),
                    )
            except PurgeFailed as exc:
                outcome.append(exc.result)
                await engine.db(self._records.save, run.id, step.id, request_id, exc.result)
                raise ActionError(str(exc)) from None
            await engine.db(self._records.save, run.id, step.id, request_id, result)
            return result

        result = await engine.guarded(run, step, requester, work)
        if result is None:
            if outcome:
                run = await engine.refresh(run)
                failed = await engine.db(ctx.store.run_step, step.id)
                await engine.tell(ctx.notifier.purge_finished(run, failed, outcome[0]))
            await self._approval.show(request_id)  # the request says how its purge ended
            return
        summary = (
            f"{result.removed:,} objects removed; bucket {result.bucket} empty; "
            f"{len(result.restarted)} registry pods restarted and Ready"
        )
        counts = {"objects_removed": result.removed, "registry_pods_restarted": len(result.restarted)}
        done = await engine.finish(step, StepState.SUCCEEDED, summary=summary, counts=counts)
        run = await engine.refresh(run)
        await engine.tell(ctx.notifier.purge_finished(run, done, result))
        await engine.show(run)
        await self._approval.show(request_id)
