"""The preflight step and the acknowledgement of custom images, on top of the engine (issue 4)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import timedelta

from actions.kube import KubeReader
from bot.config.settings import ConfigError, Settings
from bot.config.targets import plugin_dir, registry_target
from bot.core.engine import Engine
from bot.core.errors import RunbookError
from bot.core.model import RunView, StepState, StepView
from bot.core.notifier import Notifier, Requester
from bot.steps.approval.records import Approvals
from bot.steps.backup.plan import installer_target
from bot.steps.preflight.gather import Sources, gather, judge
from bot.steps.preflight.records import Records
from bot.steps.purge.model import PreflightRecord, PreflightReport
from bot.steps.schedule.gate import window_gate
from bot.steps.schedule.records import WindowRecords
from bot.steps.schedule.windows import RecurringWindow, Window, recurring_windows
from bot.store.runs import Store

KubeFactory = Callable[[], KubeReader]


class PreflightSteps(Engine):
    """`/regclean preflight`: read what the gates need, store it, and post every gate's verdict."""

    def __init__(
        self, store: Store, notifier: Notifier, kube: KubeFactory, settings: Settings | None
    ) -> None:
        super().__init__(store, notifier)
        self._kube = kube
        self._settings = settings
        self._records = Records(store.db)
        self._approvals = Approvals(store.db)

    def start_preflight(self, requester: Requester) -> None:
        """Run the preflight in the background; its checklist goes to the run's thread."""
        self._spawn(self._requested(requester, "preflight", self._preflight))

    async def acknowledge_custom(self, preflight_id: int, user: str) -> str:
        """Someone acknowledges the custom images of a preflight record (audited, counted once)."""
        record = await self._db(self._records.preflight, preflight_id)
        run = await self._db(self._store.active_run)
        if record is None or run is None or record.run_id != run.id:
            raise RunbookError(
                "This preflight is not part of the active run; run `/regclean preflight` again."
            )
        if not record.custom:
            raise RunbookError("This preflight found no custom images; there is nothing to acknowledge.")
        moved, acknowledged = await self._db(self._records.acknowledge_custom, preflight_id, user)
        if not moved:
            return f"These custom images were already acknowledged by <@{acknowledged.custom_ack_by}>."
        report = await self.judge_now(run.id, acknowledged)
        await self._call(self._notifier.custom_images_acknowledged(run, report, user))
        return f"You acknowledged {len(record.custom)} custom images: the purge deletes them and nothing restores them."

    async def judge_now(self, run_id: int, record: PreflightRecord | None = None) -> PreflightReport:
        """Gates 1 to 5 as they hold now, from what the run stored."""
        settings = self._need_settings()
        snapshot = await self._db(self._store.latest_inventory, run_id=run_id)
        backups = await self._db(self._store.latest_backups, run_id)
        if record is None:
            record = await self._db(self._records.latest_preflight, run_id)
        declared, recurring = await self.windows()
        window = window_gate(self._clock.now(), declared, recurring)
        return judge(settings, snapshot, backups, record, self._clock.now(), window)

    async def windows(self) -> tuple[list[Window], tuple[RecurringWindow, ...]]:
        """The declared window in force (if any) and the configured recurring ones."""
        settings = self._need_settings()
        declared = await self._db(self._windows.current)
        recurring = recurring_windows(settings.windows, settings.windows_timezone)
        return ([declared] if declared else []), recurring

    @functools.cached_property
    def _windows(self) -> WindowRecords:
        return WindowRecords(self._store.db)

    def _expected(self, step: str) -> timedelta | None:
        return self._settings.step_expected.get(step) if self._settings is not None else None

    def _need_settings(self) -> Settings:
        if self._settings is None:
            raise ConfigError("This regclean was built without settings for the preflight and the purge.")
        return self._settings

    async def _preflight(self, run: RunView, step: StepView, requester: Requester) -> None:
        async def work() -> PreflightRecord:
            settings = self._need_settings()
            sources = Sources(
                await installer_target(settings, self._kube), plugin_dir(settings), registry_target(settings)
            )
            return await gather(
                sources,
                self._kube,
                requester.user,
                recorded_at=self._clock.now(),
                page_size=settings.inventory_page_size,
                namespaces=settings.platform_namespaces,
            )

        read = await self._guarded(run, step, requester, work)
        if read is None:
            return
        record = await self._db(
            self._records.save_preflight, run.id, step.id, dataclasses.replace(read, run_id=run.id)
        )
        report = await self.judge_now(run.id, record)
        failed = ", ".join(g.key for g in report.failed)
        summary = (
            f"all {len(report.gates)} gates hold"
            if report.passed
            else f"{len(report.gates) - len(report.failed)} of {len(report.gates)} gates hold; not yet: {failed}"
        )
        done = await self._db(self._store.finish_step, step.id, StepState.SUCCEEDED, summary=summary)
        run = await self._refresh(run)
        await self._call(self._notifier.preflight_checked(run, done, report))
        await self._show(run)
