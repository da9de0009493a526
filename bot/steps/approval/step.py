"""The purge request and the two-person rule's clicks (docs/architecture.md, "The two-person rule").

Every decision is a conditional transition in the database (`records.Approvals`); this step
sequences them: open a request when the gates hold, count clicks, expire, remind, and claim the
approved request for the one caller that may start the purge with an unchanged plan.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from actions.minio import bucket_versioning, minio_pod
from actions.registry_clear import plan_clearing
from bot.config.targets import minio_target, registry_pods
from bot.core.errors import RegcleanError, RunbookError
from bot.core.model import Notice, RunView
from bot.core.notifier import Requester
from bot.core.wording import counted
from bot.steps.approval.lines import log_click, log_request
from bot.steps.approval.measure import measure
from bot.steps.approval.model import Click, Outcome, RequestState, RequestView
from bot.steps.approval.plan import Plan, plan_of
from bot.steps.approval.records import Approvals
from bot.steps.context import StepContext
from bot.steps.inventory.render import table_cell
from bot.steps.preflight.gates import Gate
from bot.steps.preflight.records import PreflightRecords
from bot.steps.preflight.step import PreflightStep
from bot.steps.purge.model import ApprovalNotice, purge_of
from bot.steps.schedule.calendar import Calendar

log = logging.getLogger(__name__)

#: when the approvers who have not answered are reminded, before the request expires
EXPIRY_REMINDER = timedelta(minutes=5)


class ApprovalStep:
    """`/regclean purge` (the request), Approve and Reject, the expiry job and its reminder."""

    def __init__(self, ctx: StepContext, preflight: PreflightStep, calendar: Calendar) -> None:
        self._ctx = ctx
        self._preflight = preflight
        self._preflights = PreflightRecords(ctx.db)
        self._calendar = calendar
        self.approvals = Approvals(ctx.db)
        """The requests and their transitions (read by the purge, the schedule and the close)."""
        self._locks: dict[int, asyncio.Lock] = {}

    def start(self, requester: Requester) -> None:
        """Check the gates and post the approval request, in the background."""
        self._ctx.engine.spawn(self._request(requester))

    async def approve(self, request_id: int, user: str, *, may_approve: bool) -> Click:
        """One Approve click; the caller starts what follows when it completes the request."""
        engine, jobs = self._ctx.engine, self._ctx.jobs
        click = await engine.db(
            self.approvals.approve,
            request_id,
            user,
            may_approve=may_approve,
            allow_self=self._ctx.settings.allow_self_approval,
        )
        await self._log_click("approval", request_id, user, click)
        await self.show(request_id)
        if click.outcome == Outcome.COMPLETED and jobs is not None:
            await engine.db(jobs.cancel, f"remind-expiry-{request_id}")
        return click

    async def reject(self, request_id: int, user: str, *, may_approve: bool) -> Click:
        """One Reject click closes an open request."""
        click = await self._ctx.engine.db(self.approvals.reject, request_id, user, may_approve=may_approve)
        await self._log_click("reject", request_id, user, click)
        await self.show(request_id)
        return click

    async def _log_click(self, kind: str, request_id: int, user: str, click: Click) -> None:
        view = (
            await self.get(request_id)
            if await self._ctx.engine.db(self.approvals.exists, request_id)
            else None
        )
        log_click(kind, request_id, user, click, view)

    async def get(self, request_id: int) -> RequestView:
        """A request as it stands."""
        return await self._ctx.engine.db(self.approvals.get, request_id)

    async def expire(self, request_id: int) -> bool:
        """The scheduler's job: expire the request if it is still open (or approved and waiting); its
        message then says so."""
        engine, jobs = self._ctx.engine, self._ctx.jobs
        moved = await engine.db(self.approvals.expire, request_id)
        moved = moved or await engine.db(self.approvals.lapse, request_id)
        if moved and jobs is not None:
            await engine.db(jobs.cancel_request, request_id)
        await self.show(request_id)
        return moved

    async def reschedule_expiries(self) -> int:
        """After a restart: every open request has its expiry job (the job store normally kept it)."""
        engine, jobs = self._ctx.engine, self._ctx.jobs
        if jobs is None:
            return 0
        pending = await engine.db(self.approvals.open_requests)
        for request_id, deadline in pending:
            await engine.db(jobs.expire, request_id, deadline)
        return len(pending)

    async def remind(self, request_id: int) -> None:
        """Five minutes before an open request expires: mention the approvers who have not answered."""
        view = await self.get(request_id)
        if view.state != RequestState.OPEN:
            return
        settings = self._ctx.settings
        waiting = [a for a in settings.approvers if a not in view.approvals]
        if not settings.allow_self_approval:
            waiting = [a for a in waiting if a != view.requester]
        needed = view.required - len(view.approvals)
        await self._ctx.engine.notice(
            view.run_id,
            Notice(
                f"Purge request #{request_id} expires at {{0}} and needs {counted(needed, 'more approval')}.",
                (view.expires_at,),
                tuple(waiting),
                mention=True,
            ),
        )

    async def approved_for(self, request_id: int, user: str) -> RequestView:
        """The approved request waiting to start, if `user` asked for it (only they choose when it runs)."""
        view = await self.get(request_id)
        if view.state == RequestState.APPROVED and self._ctx.clock.now() >= view.expires_at:
            await self.expire(request_id)
            view = await self.get(request_id)
        if view.state != RequestState.APPROVED:
            raise RunbookError(f"Request #{request_id} is {view.state}, not waiting to start.")
        if user != view.requester:
            raise RunbookError("Only the person who asked for the purge chooses when it runs.")
        return view

    async def plan(self, *, starting: bool = False) -> tuple[RunView, Plan, tuple[Gate, ...]]:
        """The plan as it stands now, if every gate holds; otherwise a refusal naming the gates.

        The window (gate 6) is judged when the purge starts: a request may be made and approved
        ahead of its window, for the purge to run at the window's start.
        """
        ctx, engine = self._ctx, self._ctx.engine
        run = await engine.db(ctx.store.active_run)
        if run is None:
            raise RunbookError("No run is active. Start one with `/regclean inventory`.")
        report = await self._preflight.judge_now(run.id)
        await self._preflight.restate(run, report)  # the checklist's gate line, as judged now
        failed = [g for g in report.failed if starting or g.key != "window"]
        if failed:
            # One line per gate: a detail quotes the cluster, whose names must not start lines of their own.
            lines = [
                f"• *{g.title}*: {table_cell(g.detail)} {table_cell(g.remedy or '')}".rstrip() for g in failed
            ]
            what = "start" if starting else "be requested"
            raise RunbookError(f"The purge cannot {what}; these gates do not hold:\n" + "\n".join(lines))
        snapshot = await engine.db(ctx.store.latest_inventory, run_id=run.id)
        backups = await engine.db(ctx.store.latest_backups, run.id)
        assert snapshot is not None and report.record is not None
        with ctx.kube_client() as kube:
            pod = await minio_pod(kube, minio_target(ctx.settings))
            versioning = await bucket_versioning(
                kube, minio_target(ctx.settings), str(pod["metadata"]["name"])
            )
            clearing = await plan_clearing(kube, registry_pods(ctx.settings))
        if clearing.method == "cannot":
            # A cache regclean cannot clear would let a re-push "succeed" with images that do not pull.
            raise RunbookError(
                "The purge cannot "
                + ("start" if starting else "be requested")
                + f"; these gates do not hold:\n• *Registry cache can be cleared*: {table_cell(clearing.reason)}"
            )
        # The window's verdict changes as time passes; the window itself is in the plan instead.
        plan = plan_of(
            ctx.settings,
            run.id,
            snapshot,
            backups,
            report.record,
            pod,
            gates=[g for g in report.gates if g.key != "window"],
            window=await self._calendar.in_plan(),
            versioning=versioning,
            registry_cache=clearing,
            custom_images=report.images,
        )
        return run, plan, report.gates

    async def claim(self, request_id: int) -> bool:
        """Re-check the gates and the plan, and move the approved request to started: True for one caller.

        A plan that changed since the approval (or gates that no longer hold) voids the request.
        """
        try:
            _, plan, _ = await self.plan(starting=True)
            current = plan.fingerprint
        except RegcleanError as exc:
            current = f"unavailable: {exc}"
            log.info("purge of request #%d cannot start: %s", request_id, exc)
        claimed = await self._ctx.engine.db(self.approvals.claim_start, request_id, current)
        jobs = self._ctx.jobs
        if jobs is not None:  # started or void: its expiry, reminders and schedule are moot
            await self._ctx.engine.db(jobs.cancel_request, request_id)
        await self.show(request_id)
        return claimed

    async def show(self, request_id: int) -> None:
        """Show the request as it stands; updates of one request are serialized, so the last shows the latest."""
        ctx, engine = self._ctx, self._ctx.engine
        if not await engine.db(self.approvals.exists, request_id):
            return  # a click naming a request that never was: nothing to show
        async with self._locks.setdefault(request_id, asyncio.Lock()):
            view = await engine.db(self.approvals.get, request_id)
            run = await engine.db(ctx.store.run, view.run_id)
            ref = await engine.db(self.approvals.request_ref, request_id)
            if run is None:
                return
            gates = tuple(Gate(g.key, g.title, g.passed, "") for g in view.plan.gates)
            notice = ApprovalNotice(
                view,
                gates,
                ref,
                self_approval=ctx.settings.allow_self_approval,
                in_use=await self._in_use(view),
                purge=purge_of(view, run),
            )
            new_ref = await engine.tell(ctx.notifier.approval_changed(run, notice))
            if new_ref and not ref:
                await engine.db(self.approvals.set_request_ref, request_id, new_ref)

    async def _in_use(self, view: RequestView) -> dict[str, tuple[str, ...]]:
        """The plan's waived tags that running workloads use, from the run's latest preflight."""
        waived = view.plan.custom_images.waived if view.plan.custom_images else ()
        if not waived:
            return {}
        record = await self._ctx.engine.db(self._preflights.latest_preflight, view.run_id)
        found = record.custom_workloads if record is not None else {}
        return {tag: tuple(found[tag]) for tag, _ in waived if found.get(tag)}

    # ---------------------------------------------------------------------
    async def _request(self, requester: Requester) -> None:
        ctx, engine = self._ctx, self._ctx.engine
        try:
            run, plan, gates = await self.plan()
        except RegcleanError as exc:
            await engine.tell(ctx.notifier.request_refused(requester, str(exc)))
            return
        settings = ctx.settings
        measured = await measure(ctx, plan)  # shown, not fingerprinted (see measure.py)
        view = await engine.db(
            self.approvals.open,
            run.id,
            requester.user,
            plan,
            settings.approvals_required,
            settings.approval_ttl,
            measured,
        )
        log_request(view)
        await self.schedule_expiry(view)  # before the post: a click may come as soon as it shows
        asking = tuple(a for a in settings.approvers if settings.allow_self_approval or a != requester.user)
        try:
            notice = ApprovalNotice(
                view,
                gates,
                asking=asking,
                self_approval=settings.allow_self_approval,
                in_use=await self._in_use(view),
            )
            ref = await ctx.notifier.approval_changed(run, notice)
        except Exception:
            # A request nobody can see cannot be approved, and must not linger as open: void it,
            # and tell whoever asked (that message may fail too; then the log is all there is).
            log.exception("posting purge request #%d failed; the request is void", view.id)
            await engine.db(self.approvals.claim_start, view.id, "void: the request could not be posted")
            if ctx.jobs is not None:
                await engine.db(ctx.jobs.cancel_request, view.id)
            await engine.tell(
                ctx.notifier.request_refused(
                    requester,
                    f"Purge request #{view.id} could not be posted for approval, so it was voided. "
                    "Nothing was deleted. Ask again with `/regclean purge`.",
                )
            )
            return
        if ref:
            await engine.db(self.approvals.set_request_ref, view.id, ref)

    async def schedule_expiry(self, view: RequestView) -> None:
        """The request's expiry, and a reminder to the approvers five minutes before it."""
        engine, jobs = self._ctx.engine, self._ctx.jobs
        if jobs is None:
            return
        await engine.db(jobs.expire, view.id, view.expires_at)
        remind = view.expires_at - EXPIRY_REMINDER
        if remind > self._ctx.clock.now():
            await engine.db(jobs.remind_expiry, view.id, remind)
