"""The purge request, the two-person rule's clicks, and the purge step (issue 4, design §3–§4).

Every decision is a conditional transition in the database (bot/steps/approval/records.py); this module only
sequences them: open a request when the gates hold, count clicks, and start the purge for the
one caller that moves the approved request to `started` with an unchanged plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from actions.errors import ActionError
from actions.kube import KubeClient
from actions.minio import PurgeFailed, PurgeResult, minio_pod, purge
from bot.config.settings import ConfigError
from bot.config.targets import minio_target, registry_pods
from bot.core.errors import RunbookError
from bot.core.model import RunView, StepState, StepView
from bot.core.notifier import Requester
from bot.steps.approval.model import Click, Outcome, RequestState, RequestView, fingerprint
from bot.steps.preflight.gates import Gate
from bot.steps.preflight.gather import plan_of
from bot.steps.preflight.step import PreflightSteps
from bot.steps.purge.model import ApprovalNotice
from bot.steps.schedule.windows import next_window, window_at

log = logging.getLogger(__name__)

#: when the approvers who have not answered are reminded, before the request expires
EXPIRY_REMINDER = timedelta(minutes=5)


class PurgeSteps(PreflightSteps):
    """`/regclean purge`, the Approve and Reject buttons, the expiry job, and the purge itself."""

    _request_locks: dict[int, asyncio.Lock]

    def start_purge_request(self, requester: Requester) -> None:
        """Check the gates and post the approval request, in the background."""
        self._spawn(self._request_purge(requester))

    async def approve(self, request_id: int, user: str, *, may_approve: bool) -> Click:
        """One Approve click; the click that completes the request starts the purge."""
        settings = self._need_settings()
        click = await self._db(
            self._approvals.approve,
            request_id,
            user,
            may_approve=may_approve,
            allow_self=settings.allow_self_approval,
        )
        await self._update_request(request_id)
        if click.outcome == Outcome.COMPLETED:
            view = await self._db(self._approvals.get, request_id)
            run = await self._db(self._store.run, view.run_id)
            if self._jobs is not None:
                await self._db(self._jobs.cancel, f"remind-expiry-{request_id}")
            self._spawn(self._approved(view, Requester(view.requester, run.channel if run else None)))
        return click

    async def _approved(self, view: RequestView, requester: Requester) -> None:
        """The request is approved: the purge starts now (with windows in use, the requester chooses)."""
        await self._start_purge(view.id, requester)

    async def reject(self, request_id: int, user: str, *, may_approve: bool) -> Click:
        """One Reject click closes an open request."""
        click = await self._db(self._approvals.reject, request_id, user, may_approve=may_approve)
        await self._update_request(request_id)
        return click

    async def expire_request(self, request_id: int) -> bool:
        """The scheduler's job: expire the request if it is still open; its message then says so."""
        moved = await self._db(self._approvals.expire, request_id)
        moved = moved or await self._db(self._approvals.lapse, request_id)
        if moved and self._jobs is not None:
            await self._db(self._jobs.cancel_request, request_id)
        await self._update_request(request_id)
        return moved

    async def reschedule_expiries(self) -> int:
        """After a restart: every open request has its expiry job (the job store normally kept it)."""
        if self._jobs is None:
            return 0
        pending = await self._db(self._records.open_requests)
        for request_id, deadline in pending:
            await self._db(self._jobs.expire, request_id, deadline)
        return len(pending)

    async def _schedule_request(self, view: RequestView) -> None:
        """The request's expiry, and a reminder to the approvers five minutes before it."""
        if self._jobs is None:
            return
        await self._db(self._jobs.expire, view.id, view.expires_at)
        remind = view.expires_at - EXPIRY_REMINDER
        if remind > self._clock.now():
            await self._db(self._jobs.remind_expiry, view.id, remind)

    # ---------------------------------------------------------------------
    async def _request_purge(self, requester: Requester) -> None:
        try:
            run, plan, gates = await self._plan(requester)
        except (RunbookError, ActionError, ConfigError) as exc:
            await self._call(self._notifier.request_refused(requester, str(exc)))
            return
        settings = self._need_settings()
        view = await self._db(
            self._approvals.open,
            run.id,
            requester.user,
            plan,
            settings.approvals_required,
            settings.approval_ttl,
        )
        await self._schedule_request(view)
        ref = await self._call(self._notifier.approval_changed(run, ApprovalNotice(view, gates)))
        if ref:
            await self._db(self._records.set_request_ref, view.id, ref)

    async def _plan(
        self, requester: Requester, *, starting: bool = False
    ) -> tuple[RunView, dict[str, Any], tuple[Gate, ...]]:
        """The plan as it stands now, if every gate holds; otherwise a refusal naming the gates.

        The window (gate 5) is judged when the purge starts: a request may be made and approved
        ahead of its window, for the purge to run at the window's start.
        """
        settings = self._need_settings()
        run = await self._db(self._store.active_run)
        if run is None:
            raise RunbookError("No run is active. Start one with `/regclean inventory`.")
        report = await self.judge_now(run.id)
        failed = [g for g in report.failed if starting or g.key != "window"]
        if failed:
            lines = [f"• *{g.title}*: {g.detail} {g.remedy or ''}".rstrip() for g in failed]
            what = "start" if starting else "be requested"
            raise RunbookError(f"The purge cannot {what}; these gates do not hold:\n" + "\n".join(lines))
        snapshot = await self._db(self._store.latest_inventory, run_id=run.id)
        backups = await self._db(self._store.latest_backups, run.id)
        assert snapshot is not None and report.record is not None
        with self._kube_client() as kube:
            pod = await minio_pod(kube, minio_target(settings))
        plan = plan_of(settings, run.id, snapshot, backups, report.record, pod)
        # The window's verdict changes as time passes; the window itself is in the plan instead.
        plan["gates"] = [
            {"key": g.key, "title": g.title, "passed": g.passed} for g in report.gates if g.key != "window"
        ]
        plan["window"] = await self._window_in_plan()
        return run, plan, report.gates

    async def _start_purge(self, request_id: int, requester: Requester) -> None:
        """Re-check the gates and the fingerprint, claim the request, and purge; at most once."""
        try:
            _, plan, _ = await self._plan(requester, starting=True)
            current = fingerprint(plan)
        except (RunbookError, ActionError, ConfigError) as exc:
            current = f"unavailable: {exc}"
            log.info("purge of request #%d cannot start: %s", request_id, exc)
        claimed = await self._db(self._approvals.claim_start, request_id, current)
        if self._jobs is not None:  # started or void: its expiry, reminders and schedule are moot
            await self._db(self._jobs.cancel_request, request_id)
        await self._update_request(request_id)
        if not claimed:
            view = await self._db(self._approvals.get, request_id)
            why = (
                "the plan changed since it was approved (a new backup, inventory, preflight or MinIO pod), "
                "or a gate no longer holds"
                if view.state == RequestState.VOID
                else f"the request is {view.state}"
            )
            await self._call(
                self._notifier.request_refused(
                    requester,
                    f"The purge of request #{request_id} did not start: {why}. Nothing was deleted.",
                )
            )
            return
        await self._requested(
            requester, "purge", lambda run, step, who: self._purge(run, step, who, request_id)
        )

    async def _purge(self, run: RunView, step: StepView, requester: Requester, request_id: int) -> None:
        settings = self._need_settings()
        view = await self._db(self._approvals.get, request_id)
        pod = str(view.plan["minio"]["pod"])
        outcome: list[PurgeResult] = []

        async def progress(removed: int) -> None:
            await self._call(self._notifier.step_progress(run, step, f"{removed:,} objects removed"))

        async def work() -> PurgeResult:
            try:
                with self._kube_client() as kube:
                    result = await purge(kube, minio_target(settings), registry_pods(settings), pod, progress)
            except PurgeFailed as exc:
                outcome.append(exc.result)
                await self._db(self._records.save_purge, run.id, step.id, request_id, exc.result)
                raise ActionError(str(exc)) from None
            await self._db(self._records.save_purge, run.id, step.id, request_id, result)
            return result

        result = await self._guarded(run, step, requester, work)
        if result is None:
            if outcome:
                run = await self._refresh(run)
                failed = await self._db(self._store.run_step, step.id)
                await self._call(self._notifier.purge_finished(run, failed, outcome[0]))
            return
        summary = (
            f"{result.removed:,} objects removed; bucket {result.bucket} empty; "
            f"{len(result.restarted)} registry pods restarted and Ready"
        )
        done = await self._db(self._store.finish_step, step.id, StepState.SUCCEEDED, summary=summary)
        run = await self._refresh(run)
        await self._call(self._notifier.purge_finished(run, done, result))
        await self._show(run)

    async def _window_in_plan(self) -> str:
        """The window the purge runs in (part of what is approved: another window voids the approval)."""
        declared, recurring = await self.windows()
        if not declared and not recurring:
            return "no maintenance windows are configured"
        now = self._clock.now()
        window = window_at(now, declared, recurring) or next_window(now, declared, recurring)
        return f"{window.start.isoformat()}/{window.end.isoformat()}" if window else "no window is coming up"

    async def _update_request(self, request_id: int) -> None:
        """Show the request as it stands; updates of one request are serialized, so the last shows the latest."""
        locks = self.__dict__.setdefault("_request_locks", {})
        async with locks.setdefault(request_id, asyncio.Lock()):
            view = await self._db(self._approvals.get, request_id)
            run = await self._db(self._store.run, view.run_id)
            ref = await self._db(self._records.request_ref, request_id)
            if run is None:
                return
            gates = tuple(
                Gate(str(g.get("key")), str(g.get("title")), bool(g.get("passed")), "")
                for g in view.plan.get("gates", [])
            )
            new_ref = await self._call(self._notifier.approval_changed(run, ApprovalNotice(view, gates, ref)))
            if new_ref and not ref:
                await self._db(self._records.set_request_ref, request_id, new_ref)

    @contextlib.contextmanager
    def _kube_client(self) -> Iterator[KubeClient]:
        client = self._kube()
        try:
            if not isinstance(client, KubeClient):
                raise ActionError("The purge needs the Kubernetes API client (pod exec); this one has none.")
            yield client
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()
