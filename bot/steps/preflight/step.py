"""The preflight: read what the gates need, store it, and post every gate's verdict; and the
acknowledgement of packages that no signature or checksum vouches for. (Custom images are exported
or waived: bot/steps/export/.)"""

from __future__ import annotations

import dataclasses

from actions.registry_cache import CacheClearing
from actions.registry_clear import plan_clearing
from bot.config.targets import plugin_dir, registry_pods, registry_target
from bot.core.errors import RunbookError
from bot.core.model import RunView, Said, StepName, StepState, StepView
from bot.core.notifier import Requester
from bot.steps.backup.plan import installer_target
from bot.steps.context import StepContext
from bot.steps.export.check import ExportCheck
from bot.steps.preflight.gather import Sources, gather, judge
from bot.steps.preflight.model import PreflightRecord, PreflightReport
from bot.steps.preflight.records import PreflightRecords
from bot.steps.schedule.calendar import Calendar


class PreflightStep:
    """`/regclean preflight`, the acknowledgement of unverified packages, and the gates as they hold now."""

    def __init__(self, ctx: StepContext, calendar: Calendar) -> None:
        self._ctx = ctx
        self._calendar = calendar
        self._records = PreflightRecords(ctx.db)
        self._exports = ExportCheck(ctx)

    def start(self, requester: Requester) -> None:
        """Run the preflight in the background; its checklist goes to the run's thread."""
        self._ctx.engine.spawn(self._ctx.engine.requested(requester, StepName.PREFLIGHT, self._preflight))

    async def acknowledge_unverified(self, preflight_id: int, user: str) -> Said:
        """An approver acknowledges the packages that have no verification file (audited, counted once)."""
        engine = self._ctx.engine
        record, run = await self._of_active_run(preflight_id)
        missing = record.verification.missing if record.verification is not None else ()
        if not missing:
            raise RunbookError(
                "Every package of this preflight has a verification file; there is nothing to acknowledge."
            )
        moved, acknowledged = await engine.db(self._records.acknowledge_unverified, preflight_id, user)
        if not moved:
            return Said(
                "These packages were already acknowledged by {0}.", (acknowledged.verify_ack_by or "?",)
            )
        report = await self.judge_now(run.id, acknowledged)
        await engine.tell(self._ctx.notifier.unverified_packages_acknowledged(run, report, user))
        await self.restate(run, report)
        return Said(
            f"You acknowledged {len(missing)} packages that no signature or checksum vouches for: "
            "the restore pushes them as they are."
        )

    async def _of_active_run(self, preflight_id: int) -> tuple[PreflightRecord, RunView]:
        engine = self._ctx.engine
        record = await engine.db(self._records.preflight, preflight_id)
        run = await engine.db(self._ctx.store.active_run)
        if record is None or run is None or record.run_id != run.id:
            raise RunbookError(
                "This preflight is not part of the active run; run `/regclean preflight` again."
            )
        return record, run

    async def judge_now(
        self, run_id: int, record: PreflightRecord | None = None, *, read_back: bool = True
    ) -> PreflightReport:
        """Gates 1 to 6 as they hold now, from what the run stored; the custom images' export is read
        back first (so a blob changed on disk since holds gate 5 shut), unless `read_back` is False
        (the checklist's line: the export as last verified)."""
        engine, store = self._ctx.engine, self._ctx.store
        snapshot = await engine.db(store.latest_inventory, run_id=run_id)
        backups = await engine.db(store.latest_backups, run_id)
        if record is None:
            record = await engine.db(self._records.latest_preflight, run_id)
        tags = record.custom if record is not None else ()
        images = await (self._exports.verified(run_id, tags) if read_back else self._exports.stored(run_id))
        window = await self._calendar.gate()
        return judge(self._ctx.settings, snapshot, backups, record, self._ctx.clock.now(), window, images)

    async def regate(self) -> None:
        """After something the gates read has changed (an inventory, a backup, an export, a waiver, a
        window): the checklist's gate line says how the gates hold now, not how they held at the
        preflight. Nothing happens before a preflight has succeeded. The export is taken as last
        verified, not read back (that can be gigabytes over SFTP): the request and the purge's start
        read it back, and restate the line from what they find."""
        run = await self._ctx.engine.db(self._ctx.store.active_run)
        step = run.latest(StepName.PREFLIGHT) if run is not None else None
        if run is not None and step is not None and step.state is StepState.SUCCEEDED:
            await self.restate(run, await self.judge_now(run.id, read_back=False))

    async def restate(self, run: RunView, report: PreflightReport) -> None:
        """The checklist's gate line from gates just judged, when it changed (and a preflight succeeded)."""
        engine = self._ctx.engine
        step = run.latest(StepName.PREFLIGHT)
        if step is not None and await engine.db(self._records.restate_gates, step.id, gate_line(report)):
            await engine.show(await engine.refresh(run))

    async def _preflight(self, run: RunView, step: StepView, requester: Requester) -> None:
        ctx, engine = self._ctx, self._ctx.engine

        async def work() -> PreflightRecord:
            settings = ctx.settings
            sources = Sources(
                await installer_target(settings, ctx.kube), plugin_dir(settings), registry_target(settings)
            )

            async def registry_cache() -> CacheClearing:
                with ctx.kube_client() as kube:
                    return await plan_clearing(kube, registry_pods(settings))

            return await gather(
                sources,
                ctx.kube,
                requester.user,
                recorded_at=ctx.clock.now(),
                page_size=settings.inventory_page_size,
                namespaces=settings.platform_namespaces,
                registry_cache=registry_cache,
            )

        read = await engine.guarded(run, step, requester, work)
        if read is None:
            return
        record = await engine.db(
            self._records.save_preflight, run.id, step.id, dataclasses.replace(read, run_id=run.id)
        )
        report = await self.judge_now(run.id, record)
        counts = {"gates": len(report.gates), "gates_holding": len(report.gates) - len(report.failed)}
        done = await engine.finish(step, StepState.SUCCEEDED, summary=gate_line(report), counts=counts)
        run = await engine.refresh(run)
        await engine.tell(ctx.notifier.preflight_checked(run, done, report))
        await engine.show(run)


def gate_line(report: PreflightReport) -> str:
    """The preflight's line on the checklist: how many gates hold, and which do not yet."""
    if report.passed:
        return f"all {len(report.gates)} gates hold"
    failed = ", ".join(g.key for g in report.failed)
    return f"{len(report.gates) - len(report.failed)} of {len(report.gates)} gates hold; not yet: {failed}"
