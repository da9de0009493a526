"""A Notifier that records what the engine told it (the tests' implementation of the protocol)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from actions.backup import BackupResult, NodeProgress
from actions.minio import PurgeResult
from bot.core.model import RunView, StepView
from bot.core.notifier import InventoryReport, Notice, Requester
from bot.steps.close.report import FinalReport
from bot.steps.export.model import ImagesReport
from bot.steps.preflight.model import PreflightReport
from bot.steps.purge.model import ApprovalNotice, PurgeChoice
from bot.steps.restore.model import PluginRestore, Verification


class RecordingNotifier:
    """Keeps every notification; `fail=True` makes every call raise, like a Slack outage."""

    def __init__(self, *, fail: bool = False) -> None:
        self.events: list[tuple[str, Any]] = []
        self.fail = fail
        self.changed = asyncio.Event()

    def _record(self, kind: str, payload: Any) -> None:
        self.events.append((kind, payload))
        self.changed.set()
        if self.fail:
            raise ConnectionError("notifier is down")

    async def run_changed(self, run: RunView) -> dict[str, Any] | None:
        self._record("run_changed", run)
        return {"where": f"run-{run.id}"}

    async def step_progress(self, run: RunView, step: StepView, text: str) -> None:
        self._record("progress", text)

    async def inventory_recorded(self, run: RunView, step: StepView, report: InventoryReport) -> None:
        self._record("inventory", (step, report))

    async def step_failed(self, run: RunView, step: StepView, requester: Requester) -> None:
        self._record("failed", (step, requester))

    async def backup_progress(self, run: RunView, step: StepView, nodes: Sequence[NodeProgress]) -> None:
        self._record("backup_progress", tuple(nodes))

    async def backup_finished(self, run: RunView, step: StepView, result: BackupResult) -> None:
        self._record("backup", (step, result))

    async def request_refused(self, requester: Requester, reason: str, gist: str | None = None) -> None:
        self._record("refused", (requester, reason))

    async def preflight_checked(self, run: RunView, step: StepView, report: PreflightReport) -> None:
        self._record("preflight", (step, report))

    async def images_changed(self, run: RunView, step: StepView, report: ImagesReport) -> None:
        self._record("images", report)

    async def unverified_packages_acknowledged(
        self, run: RunView, report: PreflightReport, user: str
    ) -> None:
        self._record("verify_ack", (report, user))

    async def approval_changed(self, run: RunView, notice: ApprovalNotice) -> dict[str, str] | None:
        self._record("approval", notice)
        return {"channel": "C", "ts": f"req-{notice.request.id}"} if notice.ref is None else None

    async def purge_finished(self, run: RunView, step: StepView, result: PurgeResult) -> None:
        self._record("purge", (step, result))

    async def plugins_restored(self, run: RunView, step: StepView, restore: PluginRestore) -> None:
        self._record("plugins", (step, restore))

    async def verification_finished(self, run: RunView, step: StepView, verification: Verification) -> None:
        self._record("verification", (step, verification))

    async def step_output(self, run: RunView, step: StepView, title: str, lines: Sequence[str]) -> None:
        self._record("output", (title, tuple(lines)))

    async def run_closed(self, run: RunView, step: StepView, report: FinalReport) -> None:
        self._record("closed", (step, report))

    async def notice(self, run: RunView, notice: Notice) -> None:
        self._record("notice", notice)

    async def purge_choice(self, run: RunView, choice: PurgeChoice) -> None:
        self._record("choice", choice)

    def of(self, kind: str) -> list[Any]:
        return [payload for k, payload in self.events if k == kind]
