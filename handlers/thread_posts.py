"""The Slack Notifier's posts of step results in the run's thread: purge, restore, verification,
the final report, notices and the approved purge's choice."""

from __future__ import annotations

from actions.minio import PurgeResult
from bot.core.model import Notice, RunView, StepView
from bot.steps.close.report import FinalReport
from bot.steps.purge.model import PurgeChoice
from bot.steps.restore.model import PluginRestore, Verification
from handlers.blocks.purge import purge_blocks, purge_text
from handlers.blocks.report import report_blocks, report_text
from handlers.blocks.restore import plugins_blocks, plugins_text, verification_blocks, verification_text
from handlers.blocks.schedule import choice_blocks, choice_text, notice_blocks, notice_text
from handlers.blocks.tables import Block
from handlers.people import SlackNames


class ThreadPosts:
    """Results that go to the run's thread as one message each (mixed into `SlackNotifier`)."""

    _progress: dict[int, str]
    """step → its newest progress line on the checklist (dropped once the step reports its result)"""
    _names: SlackNames

    async def _reply(self, run: RunView, blocks: list[Block], text: str) -> dict[str, str] | None:
        raise NotImplementedError

    async def purge_finished(self, run: RunView, step: StepView, result: PurgeResult) -> None:
        """The bucket before and after, and the registry's restart, in the thread."""
        self._progress.pop(step.id, None)
        await self._reply(run, purge_blocks(run, step, result), purge_text(result))

    async def plugins_restored(self, run: RunView, step: StepView, restore: PluginRestore) -> None:
        """Every package's outcome, in the thread."""
        self._progress.pop(step.id, None)
        await self._reply(run, plugins_blocks(run, step, restore), plugins_text(restore))

    async def verification_finished(self, run: RunView, step: StepView, verification: Verification) -> None:
        """The pull check's summary and every failure, in the thread."""
        self._progress.pop(step.id, None)
        await self._reply(run, verification_blocks(run, step, verification), verification_text(verification))

    async def run_closed(self, run: RunView, step: StepView, report: FinalReport) -> None:
        """The final report, in the thread."""
        self._progress.pop(step.id, None)
        await self._names.learn([report.closed_by, report.requester, *report.approvers])
        await self._reply(run, report_blocks(run, report), report_text(report))

    async def notice(self, run: RunView, notice: Notice) -> None:
        """A reminder or a word about the schedule, in the thread, naming its people."""
        if not notice.mention:
            await self._names.learn(notice.people)
        await self._reply(run, notice_blocks(notice), notice_text(notice))

    async def purge_choice(self, run: RunView, choice: PurgeChoice) -> None:
        """The approved purge's choice, in the thread, for the requester."""
        await self._reply(run, choice_blocks(choice), choice_text(choice))
