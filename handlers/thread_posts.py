"""The run's thread, one message per result: the preflight (with its custom-images file), the purge,
the restore, the verification, the final report, notices and the approved purge's choice.
`SlackNotifier` owns one and hands it its way of replying in a run's thread (docs/architecture.md,
"Layers")."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from actions.minio import PurgeResult
from bot.core.model import Notice, RunView, StepView
from bot.steps.close.report import FinalReport
from bot.steps.preflight.model import PreflightReport
from bot.steps.purge.model import PurgeChoice
from bot.steps.restore.model import PluginRestore, Verification
from handlers.blocks.preflight import custom_lines, custom_listing, preflight_blocks, preflight_text
from handlers.blocks.purge import purge_blocks, purge_text
from handlers.blocks.report import report_blocks, report_text
from handlers.blocks.restore import plugins_blocks, plugins_text, verification_blocks, verification_text
from handlers.blocks.run import named
from handlers.blocks.schedule import choice_blocks, choice_text, notice_blocks, notice_text
from handlers.blocks.tables import Block, section
from handlers.people import SlackNames

log = logging.getLogger(__name__)

Reply = Callable[[RunView, list[Block], str], Awaitable[dict[str, str] | None]]
"""Post in a run's thread; where the reply went, or None when it could not be posted yet."""
Thread = Callable[[RunView], str | None]
"""The ts of a run's root message, once it is posted."""


class ThreadPosts:
    """Results that go to the run's thread as one message each."""

    def __init__(
        self,
        client: AsyncWebClient,
        reply: Reply,
        thread: Thread,
        progress: dict[int, str],
        names: SlackNames,
    ) -> None:
        self._client = client
        self._reply = reply
        self._thread = thread
        self._progress = progress
        """the notifier's: step → its progress line on the checklist, dropped once the step reports"""
        self._names = names
        self._preflights: dict[int, dict[str, str]] = {}
        """preflight record → its report in the thread (updated when packages are acknowledged)"""

    async def preflight_checked(self, run: RunView, step: StepView, report: PreflightReport) -> None:
        """Every gate, what was read, and the custom images (with their acknowledge button)."""
        self._progress.pop(step.id, None)
        record = report.record
        if record is not None:
            await self._names.learn([record.recorded_by, record.verify_ack_by, record.custom_ack_by])
        posted = await self._reply(run, preflight_blocks(run, report), preflight_text(report))
        if posted is None or record is None:
            return
        self._preflights[record.id] = posted
        if custom_listing(record)[1]:  # not all custom images fit the message: all of them as a file
            await self._client.files_upload_v2(
                content="".join(f"{line}\n" for line in custom_lines(record)),
                filename=f"regclean-run{run.id}-preflight{record.id}-custom-images.txt",
                title=f"Custom images, preflight #{record.id}",
                channel=posted["channel"],
                thread_ts=self._thread(run),
                initial_comment=f"All {len(record.custom):,} custom images of preflight #{record.id}.",
            )

    async def unverified_packages_acknowledged(
        self, run: RunView, report: PreflightReport, user: str
    ) -> None:
        """A line in the thread; the report, if this process posted it, loses its button."""
        record = report.record
        if record is None or record.verification is None:
            return
        text = (
            f"{named(user)} acknowledged the {len(record.verification.missing):,} packages of preflight "
            f"#{record.id} that have no verification file: the restore pushes them as they are."
        )
        await self._reply(run, [section(f":white_check_mark: {text}")], text)
        where = self._preflights.get(record.id)
        if where is None:
            return
        try:
            await self._client.chat_update(
                channel=where["channel"],
                ts=where["ts"],
                text=preflight_text(report),
                blocks=preflight_blocks(run, report),
            )
        except SlackApiError as exc:
            log.warning("cannot update preflight #%d: %s", record.id, exc.response.get("error"))

    async def purge_finished(self, run: RunView, step: StepView, result: PurgeResult) -> None:
        """The bucket before and after, and the registry's restart."""
        self._progress.pop(step.id, None)
        await self._reply(run, purge_blocks(run, step, result), purge_text(result))

    async def plugins_restored(self, run: RunView, step: StepView, restore: PluginRestore) -> None:
        """Every package's outcome."""
        self._progress.pop(step.id, None)
        await self._reply(run, plugins_blocks(run, step, restore), plugins_text(restore))

    async def verification_finished(self, run: RunView, step: StepView, verification: Verification) -> None:
        """The pull check's summary and every failure."""
        self._progress.pop(step.id, None)
        await self._reply(run, verification_blocks(run, step, verification), verification_text(verification))

    async def run_closed(self, run: RunView, step: StepView, report: FinalReport) -> None:
        """The final report."""
        self._progress.pop(step.id, None)
        await self._names.learn([report.closed_by, report.requester, *report.approvers])
        await self._reply(run, report_blocks(run, report), report_text(report))

    async def notice(self, run: RunView, notice: Notice) -> None:
        """A reminder or a word about the schedule, naming (or mentioning) its people."""
        if not notice.mention:
            await self._names.learn(notice.people)
        await self._reply(run, notice_blocks(notice), notice_text(notice))

    async def purge_choice(self, run: RunView, choice: PurgeChoice) -> None:
        """The approved purge's choice, for the requester."""
        await self._reply(run, choice_blocks(choice), choice_text(choice))
