"""The Notifier for the terminal: progress and failures on stderr, one line each."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any, TextIO

from actions.backup import BackupResult, NodeProgress
from actions.minio import PurgeResult
from bot.core.model import RunView, StepState, StepView
from bot.core.notifier import InventoryReport, Notice, Requester
from bot.steps.close.report import FinalReport
from bot.steps.export.model import ImagesReport
from bot.steps.preflight.model import PreflightReport
from bot.steps.purge.model import ApprovalNotice, PurgeChoice
from bot.steps.restore.model import PluginRestore, Verification


class ConsoleNotifier:
    """Writes what the engine does to a stream (stderr by default), so stdout stays for results."""

    def __init__(self, stream: TextIO | None = None, *, verbose: bool = True) -> None:
        self._stream = stream or sys.stderr
        self._verbose = verbose
        self._phases: dict[str, str] = {}
        self.refusals: list[str] = []
        """Every refusal so far, in order: the CLI exits 3 when there is one, and says each on stderr."""

    def _say(self, text: str) -> None:
        if self._verbose:
            print(text, file=self._stream, flush=True)

    async def run_changed(self, run: RunView) -> dict[str, Any] | None:
        """Nothing to keep: the terminal has no message to update."""
        return None

    async def step_progress(self, run: RunView, step: StepView, text: str) -> None:
        """One line per progress report."""
        self._say(f"run #{run.id} {step.name}: {text}")

    async def inventory_recorded(self, run: RunView, step: StepView, report: InventoryReport) -> None:
        """Say what was recorded and how it differs from the previous snapshot."""
        self._say(f"run #{run.id} inventory recorded: {step.summary}")
        if report.diff is not None and report.previous is not None:
            ops, plugins = report.diff.operators, report.diff.plugins
            self._say(
                f"  since snapshot #{report.previous.id} ({report.previous.recorded_at:%Y-%m-%d %H:%M} UTC): "
                f"operators +{len(ops.added)} -{len(ops.removed)} ~{len(ops.changed)}, "
                f"plugins +{len(plugins.added)} -{len(plugins.removed)} ~{len(plugins.changed)}"
            )

    async def step_failed(self, run: RunView, step: StepView, requester: Requester) -> None:
        """The failure, in the step's own words."""
        verb = "was interrupted" if step.state is StepState.INTERRUPTED else "failed"
        self._say(f"run #{run.id} {step.name} {verb}: {step.error}")

    async def backup_progress(self, run: RunView, step: StepView, nodes: Sequence[NodeProgress]) -> None:
        """A line when a node moves to another phase."""
        for node in nodes:
            if self._phases.get(node.address) != node.phase:
                self._phases[node.address] = node.phase
                self._say(f"run #{run.id} backup: {node.node} ({node.address}) {node.phase}")

    async def backup_finished(self, run: RunView, step: StepView, result: BackupResult) -> None:
        """One line per node."""
        for n in result.nodes:
            state = "verified" if n.verified else f"NOT verified: {n.problem}"
            self._say(f"run #{run.id} backup: {n.node} ({n.address}) {n.archive} {state}")

    async def request_refused(self, requester: Requester, reason: str, gist: str | None = None) -> None:
        """Kept for the caller, who says it (on stderr, whatever the format) and exits 3."""
        self.refusals.append(reason)

    async def preflight_checked(self, run: RunView, step: StepView, report: PreflightReport) -> None:
        """How many gates hold, and which do not."""
        failed = ", ".join(g.key for g in report.failed)
        held = f"{len(report.gates) - len(report.failed)} of {len(report.gates)} gates hold"
        self._say(f"run #{run.id} preflight: {held}" + (f"; failing: {failed}" if failed else ""))

    async def images_changed(self, run: RunView, step: StepView, report: ImagesReport) -> None:
        """The newest image's line; the verdict once finished."""
        if report.finished:
            self._say(f"run #{run.id} {report.action}: {report.verdict}")
        elif report.done:
            last = report.done[-1]
            self._say(
                f"run #{run.id} {report.action}: {last.tag} "
                + ("done" if last.ok else f"FAILED: {last.problem}")
            )

    async def unverified_packages_acknowledged(
        self, run: RunView, report: PreflightReport, user: str
    ) -> None:
        """Who acknowledged how many packages without a verification file."""
        record = report.record
        count = len(record.verification.missing) if record is not None and record.verification else 0
        self._say(f"run #{run.id} preflight: {count} unverified packages acknowledged by {user}")

    async def approval_changed(self, run: RunView, notice: ApprovalNotice) -> dict[str, str] | None:
        """The request's state and count; nothing to keep."""
        r = notice.request
        count = f"{len(r.approvals)} of {r.required} approved"
        self._say(f"run #{run.id} purge request #{r.id}: {r.state.value}, {count}")
        return None

    async def purge_finished(self, run: RunView, step: StepView, result: PurgeResult) -> None:
        """Whether the bucket is empty and the registry Ready."""
        empty = "empty" if result.empty else "NOT empty"
        ready = "Ready" if result.registry_ready else "NOT Ready"
        problem = f"; {result.problem}" if result.problem else ""
        self._say(
            f"run #{run.id} purge: bucket {result.bucket} {empty}, {result.removed} objects removed, "
            f"registry {ready}{problem}"
        )

    async def plugins_restored(self, run: RunView, step: StepView, restore: PluginRestore) -> None:
        """One line per package that failed."""
        self._say(f"run #{run.id} restore plugins: {step.summary}")
        for push in restore.failed:
            self._say(f"  {push.package}: {' | '.join(push.tail[-3:])}")

    async def verification_finished(self, run: RunView, step: StepView, verification: Verification) -> None:
        """One line per image that does not pull."""
        self._say(f"run #{run.id} verify ({verification.scope}): {step.summary}")
        for check in verification.failed:
            self._say(f"  {check.image}: {check.problem}")

    async def step_output(self, run: RunView, step: StepView, title: str, lines: Sequence[str]) -> None:
        """Nothing: the terminal shows the progress line; the whole output would drown it."""

    async def run_closed(self, run: RunView, step: StepView, report: FinalReport) -> None:
        """The verdict, the bucket, and what is left to do."""
        b = report.bucket
        self._say(
            f"run #{run.id} closed: {report.state}; bucket {b.name} {b.bytes_before} → {b.bytes_after} bytes"
        )
        for item in report.left_to_do:
            self._say(f"  to do: {item}")

    async def notice(self, run: RunView, notice: Notice) -> None:
        """The notice, times in UTC."""
        self._say(f"run #{run.id}: {notice.render(lambda t: f'{t:%Y-%m-%d %H:%M} UTC')}")

    async def purge_choice(self, run: RunView, choice: PurgeChoice) -> None:
        """What the requester may choose (in Slack, with buttons)."""
        now = "now (inside a window)" if choice.inside else None
        later = (
            f"at {choice.coming.start:%Y-%m-%d %H:%M} UTC" if choice.can_schedule and choice.coming else None
        )
        options = " or ".join(o for o in (now, later) if o) or "neither now"
        self._say(f"run #{run.id}: request #{choice.request.id} is approved; it may purge {options}")
