"""The runbook: its steps, wired together, and the flow from one step to the next.

Each step is its own class under `bot/steps/`, handed its collaborators in a `StepContext`; no
step knows another's internals, and none inherits from another. What follows what is written
here, and only here (docs/architecture.md, "Steps" and "The run's state machine"):

- an approval that completes the request → the purge now, or the requester's choice of window;
- the core restore → a pull check of what it brought back;
- the plugin restore → the custom images pushed back from their export → a pull check of everything →
  the close of the run, when all passed;
- an inventory, a backup, an export, a waiver or a window declared or cancelled → the checklist's
  gate line, as the gates hold now.
"""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import TypeVar

from actions.backup import BackupResult
from actions.inventory import Inventory
from actions.kube import KubeClient, RetryPolicy
from bot.audit import trail
from bot.config.settings import Settings
from bot.core.authz import Roles
from bot.core.engine import Engine
from bot.core.model import RunView, Said, StepName, StepState, StepView
from bot.core.notifier import Notifier, Requester
from bot.doctor.model import DoctorReport
from bot.doctor.run import run_doctor
from bot.doctor.slack import SlackProbe
from bot.rehearse.durations import last_closed_run
from bot.rehearse.model import Rehearsal
from bot.rehearse.run import run_rehearsal
from bot.restart import Restart
from bot.scheduler import Jobs, Scheduled
from bot.steps.approval.model import Click, Outcome
from bot.steps.approval.step import ApprovalStep
from bot.steps.backup.plan import BackupPlanner, backup_planner
from bot.steps.backup.step import BackupStep
from bot.steps.close.step import CloseStep
from bot.steps.context import KubeFactory, StepContext
from bot.steps.export.repush import RestoreCustomStep
from bot.steps.export.step import ExportStep
from bot.steps.inventory.step import InventoryStep
from bot.steps.preflight.step import PreflightStep
from bot.steps.purge.step import PurgeStep
from bot.steps.restore.step import RestoreStep
from bot.steps.schedule.calendar import Calendar
from bot.steps.schedule.step import ScheduleStep
from bot.steps.schedule.windows import Window
from bot.steps.verify.step import VerifyStep
from bot.store.runs import Store

__all__ = ["KubeFactory", "Runbook"]

T = TypeVar("T")


class Runbook:
    """The steps of one bot, and the calls the handlers, the CLI and the scheduler's jobs make."""

    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        kube: KubeFactory,
        settings: Settings,
        *,
        backup_plan: BackupPlanner | None = None,
        roles: Roles | None = None,
    ) -> None:
        self.engine = Engine(store, notifier, expected=settings.step_expected)
        ctx = StepContext(self.engine, store, notifier, settings, kube)
        self.calendar = Calendar(ctx)
        self.inventory = InventoryStep(ctx)
        self.backup = BackupStep(ctx, backup_plan)
        self.preflight = PreflightStep(ctx, self.calendar)
        self.export = ExportStep(ctx)
        self.approval = ApprovalStep(ctx, self.preflight, self.calendar)
        self.purge = PurgeStep(ctx, self.approval, roles)
        self.schedule = ScheduleStep(ctx, self.calendar, self.approval, self.purge.start)
        self.restore = RestoreStep(ctx, self.schedule)
        self.custom = RestoreCustomStep(ctx)
        self.verify = VerifyStep(ctx)
        self.closing = CloseStep(ctx, self.inventory, self.approval)
        self.restart = Restart(self.engine, store, self.approval, self.closing)
        """what a process does first for the runs an earlier one left"""
        self._ctx = ctx

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        store: Store,
        notifier: Notifier,
        *,
        kube: KubeFactory | None = None,
        roles: Roles | None = None,
    ) -> Runbook:
        """The runbook as configured: the cluster from KUBECONFIG, backups as the settings say."""
        retry = RetryPolicy(attempts=settings.kube_retries, budget=settings.kube_retry_seconds)
        factory: KubeFactory = kube or (lambda: KubeClient.from_config(settings.kubeconfig, retry=retry))
        return cls(
            store, notifier, factory, settings, backup_plan=backup_planner(settings, factory), roles=roles
        )

    # the engine ----------------------------------------------------------------
    def use_jobs(self, jobs: Jobs | None) -> None:
        """Schedule expiries, reminders and scheduled purges in the persistent scheduler."""
        self.engine.jobs = jobs

    async def status(self) -> RunView | None:
        """The active run, or None."""
        return await self.engine.status()

    async def close(self) -> None:
        """Stop: running steps become interrupted, never succeeded."""
        await self.engine.close()

    async def drain(self) -> None:
        """Wait until every background step has finished."""
        await self.engine.drain()

    def now(self) -> datetime:
        """The one clock's time."""
        return self._ctx.clock.now()

    # steps 1–3 -------------------------------------------------------------------
    def start_inventory(self, requester: Requester) -> None:
        """`/regclean inventory`, in the background."""
        self.engine.spawn(self._then_gates(self.inventory.record(requester)))

    async def record_inventory_now(self, requester: Requester) -> tuple[StepView, Inventory | None]:
        """`regclean inventory` from a terminal: record and wait."""
        return await self._then_gates(self.inventory.record_now(requester))

    def start_backup(self, requester: Requester) -> None:
        """`/regclean backup`, in the background."""
        self.engine.spawn(self._then_gates(self.backup.back_up(requester)))

    async def back_up_now(self, requester: Requester) -> tuple[StepView, BackupResult | None]:
        """`regclean backup` from a terminal: back up and wait."""
        return await self._then_gates(self.backup.back_up_now(requester))

    def start_preflight(self, requester: Requester) -> None:
        """`/regclean preflight`, in the background."""
        self.preflight.start(requester)

    def start_export(self, requester: Requester) -> None:
        """`/regclean export` (or the preflight's button), in the background."""
        self.engine.spawn(self._then_gates(self.export.export(requester)))

    async def waive(self, user: str, tags: tuple[str, ...]) -> Said:
        """`/regclean waive REPO:TAG…` (approvers only: the handler checks the role)."""
        return await self._then_gates(self.export.waive(user, tags))

    async def acknowledge_unverified(self, preflight_id: int, user: str) -> Said:
        """The "Acknowledge unverified packages" button (approvers only: the handler checks the role)."""
        return await self.preflight.acknowledge_unverified(preflight_id, user)

    async def _then_gates(self, step: Awaitable[T]) -> T:
        """What the gates read has changed: the checklist's gate line follows."""
        done = await step
        await self.preflight.regate()
        return done

    # the request, the approval and the purge --------------------------------------
    def start_purge_request(self, requester: Requester) -> None:
        """`/regclean purge`: check the gates and post the request, in the background."""
        self.approval.start(requester)

    async def approve(self, request_id: int, user: str, *, may_approve: bool) -> Click:
        """One Approve click; the click that completes the request sets the purge going."""
        click = await self.approval.approve(request_id, user, may_approve=may_approve)
        if click.outcome == Outcome.COMPLETED:
            view = await self.approval.get(request_id)
            run = await self.engine.db(self._ctx.store.run, view.run_id)
            requester = Requester(view.requester, run.channel if run else None)
            self.engine.spawn(self._approved(request_id, requester))
        return click

    async def _approved(self, request_id: int, requester: Requester) -> None:
        """Approved: with windows in use the requester chooses when; without, the purge starts now."""
        if not await self.schedule.offer_choice(await self.approval.get(request_id)):
            await self.purge.start(request_id, requester)

    async def reject(self, request_id: int, user: str, *, may_approve: bool) -> Click:
        """One Reject click."""
        return await self.approval.reject(request_id, user, may_approve=may_approve)

    async def purge_now(self, request_id: int, user: str) -> str:
        """The requester's "Purge now"."""
        return await self.schedule.purge_now(request_id, user)

    async def purge_at_window_start(self, request_id: int, user: str) -> str:
        """The requester's "Purge at window start"."""
        return await self.schedule.purge_at_window_start(request_id, user)

    # windows and what is scheduled ------------------------------------------------
    async def declare_window(self, start: str, duration: str, user: str, tz: str | None) -> Window:
        """`/regclean window START DURATION`."""
        return await self._then_gates(self.calendar.declare(start, duration, user, tz))

    async def cancel_window(self, user: str) -> Window:
        """`/regclean window cancel`."""
        return await self._then_gates(self.calendar.cancel(user))

    async def window_now(self) -> tuple[Window | None, Window | None, bool]:
        """The window now is in, the next one, and whether windows are in use at all."""
        now = await self.calendar.now()
        return now.inside, now.coming, now.used

    def expected_restore(self) -> timedelta | None:
        """How long the core and the plugin restore are expected to take together."""
        return self.calendar.expected_restore()

    async def scheduled(self) -> list[Scheduled]:
        """`/regclean schedule`: every job that still matters."""
        return await self.schedule.scheduled()

    async def cancel_scheduled(self, request_id: int, user: str) -> str:
        """`/regclean schedule cancel ID`."""
        return await self.schedule.cancel_scheduled(request_id, user)

    async def audit_trail(self, run_id: int | None) -> tuple[str, trail.Verdict]:
        """`/regclean audit [N]`: the audit rows (of run N) as JSON Lines, and the whole chain's verdict."""
        db = self._ctx.store.db
        return await self.engine.db(lambda: (trail.render(trail.read(db, run_id), "jsonl"), trail.verify(db)))

    async def overview(self) -> tuple[RunView | None, list[Scheduled], tuple[int, str, datetime] | None]:
        """`/regclean status`: the active run, what is scheduled, and the newest run that ended, read in
        one worker thread so that the acknowledgement stays fast."""

        def read() -> tuple[RunView | None, list[Scheduled], tuple[int, str, datetime] | None]:
            return self._ctx.store.active_run(), self.schedule.live_jobs(), self.closing.last_closed()

        return await self.engine.db(read)

    # restore, verify, close ----------------------------------------------------------
    def start_restore_core(
        self, requester: Requester, *, override: bool = False, may_override: bool = False
    ) -> None:
        """`/regclean restore core`, then a pull check of what it brought back."""
        self.engine.spawn(self._restore_core(requester, override, may_override))

    async def _restore_core(self, requester: Requester, override: bool, may_override: bool) -> None:
        if await self.restore.core(requester, override=override, may_override=may_override):
            await self.verify.run(requester, "core")

    def start_restore_plugins(self, requester: Requester, *, retry_failed: bool = False) -> None:
        """`/regclean restore plugins`, then a pull check of everything, then the close when both passed."""
        self.engine.spawn(self._restore_plugins(requester, retry_failed))

    async def _restore_plugins(self, requester: Requester, retry_failed: bool) -> None:
        restore = await self.restore.plugins(requester, retry_failed=retry_failed)
        if restore is None:
            return
        if not restore.failed:  # then the custom images go back, before the final pull check
            await self.custom.run(requester)
        await self._verify_all(requester)

    def start_restore_custom(self, requester: Requester, *, retry_failed: bool = False) -> None:
        """`/regclean restore custom`: the exported custom images pushed back, then a pull check of everything."""
        self.engine.spawn(self._restore_custom(requester, retry_failed))

    async def _restore_custom(self, requester: Requester, retry_failed: bool) -> None:
        if await self.custom.run(requester, retry_failed=retry_failed) is not None:
            await self._verify_all(requester)

    def start_verify(self, requester: Requester) -> None:
        """`/regclean verify`: pull every recorded image; the run closes if the plugins were restored."""
        self.engine.spawn(self._verify_all(requester))

    async def _verify_all(self, requester: Requester) -> None:
        verification = await self.verify.run(requester, "all")
        if verification is None or not verification.passed:
            return
        run = await self.engine.status()
        plugins = run.latest(StepName.RESTORE_PLUGINS) if run is not None else None
        custom = run.latest(StepName.RESTORE_CUSTOM) if run is not None else None
        restored = [s for s in (plugins, custom) if s is not None and s.state is StepState.SUCCEEDED]
        if len(restored) == 2:
            await self.closing.close(requester)

    def start_close(self, requester: Requester) -> None:
        """`/regclean close`."""
        self.engine.spawn(self.closing.close(requester))

    async def doctor(self, slack: SlackProbe | None) -> DoctorReport:
        """`/regclean doctor`: every read-only check (bot/doctor/); no run is opened."""
        return await run_doctor(self._ctx.settings, slack)

    async def rehearse(self, slack: SlackProbe | None) -> Rehearsal:
        """`/regclean rehearse`: what the night would do, read-only (bot/rehearse/); no run is opened."""
        last = await self.engine.db(last_closed_run, self._ctx.store)
        return await run_rehearsal(self._ctx.settings, slack, last)

    # the scheduler's jobs (bot/scheduler.py calls these) -------------------------------
    async def expire_request(self, request_id: int) -> bool:
        """An approval request's deadline."""
        return await self.approval.expire(request_id)

    async def remind_expiry(self, request_id: int) -> None:
        """Five minutes before a request expires."""
        await self.approval.remind(request_id)

    async def remind_window(self, request_id: int) -> None:
        """Fifteen minutes before a scheduled purge's window."""
        await self.schedule.remind_window(request_id)

    async def purge_at_window(self, request_id: int, due: datetime) -> None:
        """A scheduled purge's time has come."""
        await self.schedule.purge_at_window(request_id, due)

    async def step_overdue(self, step_id: int) -> None:
        """A step runs past its expected time."""
        await self.schedule.step_overdue(step_id)
