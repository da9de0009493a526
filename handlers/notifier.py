"""The Notifier for Slack: the run's root checklist, updated in place, and its thread."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from actions.backup import BackupResult, NodeProgress
from actions.minio import PurgeResult
from actions.slices import in_slices
from bot.core.model import Notice, RunView, StepState, StepView
from bot.core.notifier import InventoryReport, Requester
from bot.steps.close.report import FinalReport
from bot.steps.export.model import ImagesReport
from bot.steps.inventory.render import operators_csv, plugins_csv
from bot.steps.preflight.model import PreflightReport
from bot.steps.purge.model import ApprovalNotice, PurgeChoice
from bot.steps.restore.model import PluginRestore, Verification
from handlers.approval_messages import ApprovalMessages, GroupIds
from handlers.blocks.backup import progress_blocks, result_blocks
from handlers.blocks.custom_images import images_blocks, images_text
from handlers.blocks.inventory import diff_messages, summary_blocks, table_messages
from handlers.blocks.restore import (
    output_blocks,
)
from handlers.blocks.run import checklist_blocks, checklist_text, failure_blocks, who
from handlers.blocks.tables import Block, escape, inline, section
from handlers.live import Clock, LiveMessage, Pacer
from handlers.people import SlackNames
from handlers.reply_pacing import RepliesPerUser, held_back_note
from handlers.root_message import find_root, root_metadata
from handlers.thread_posts import ThreadPosts

log = logging.getLogger(__name__)


class SlackNotifier:
    """Posts a run as one root message (a live checklist) with the details in its thread."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str | None = None,
        min_update_interval: float = 1.0,
        post_interval: float = 1.0,
        clock: Clock = time.monotonic,
        groups: GroupIds | None = None,
    ) -> None:
        self._client = client
        self._channel = channel
        self._interval = min_update_interval
        self._clock = clock
        self._pacer = Pacer(post_interval, clock)
        self._replies = RepliesPerUser(clock=clock)
        """which private replies each person was just given (the same one is not repeated)"""
        self._roots: dict[int, LiveMessage] = {}
        """run → its root checklist"""
        self._waiting: dict[int, list[tuple[list[Block], str]]] = {}
        """run → thread replies that came while its root message could not be posted"""
        self._live: dict[int, LiveMessage] = {}
        """step → its progress message in the thread"""
        self._progress: dict[int, str] = {}
        """step → a line of progress for the checklist"""
        self._requests = ApprovalMessages(
            client, interval=min_update_interval, pacer=self._pacer, clock=clock, groups=groups
        )
        self._names = SlackNames(client)
        """the names of the people messages name, looked up when this process has not heard them"""
        self._thread = ThreadPosts(client, self._reply, self._thread_ts, self._progress, self._names)
        """one message per result in the run's thread"""

    # Notifier ------------------------------------------------------------
    async def run_changed(self, run: RunView) -> dict[str, Any] | None:
        """Post the checklist the first time, then update it in place (at most once a second)."""
        root = self._root(run)
        if root is None:
            log.warning("run #%d has no channel to post to; set SLACK_CHANNEL", run.id)
            return None
        if root.ts is None:  # a crash between posting it and storing where it is must not make a second
            root.ts = await find_root(self._client, root.channel, run)
        await self._names.learn_run(run)  # every step's requester, for this and the step's messages
        await root.show(checklist_text(run), checklist_blocks(run, self._progress))
        for blocks, text in self._waiting.pop(run.id, []) if root.ts else []:
            await self._post_reply(root, blocks, text)  # replies that came before the root could be posted
        return {"channel": root.channel, "ts": root.ts} if root.ts else None  # the engine stores a change

    async def step_progress(self, run: RunView, step: StepView, text: str) -> None:
        """Show progress on the checklist line of the running step."""
        self._progress[step.id] = text
        root = self._root(run)
        if root is not None and root.ts is not None:
            await root.show(checklist_text(run), checklist_blocks(run, self._progress))

    async def inventory_recorded(self, run: RunView, step: StepView, report: InventoryReport) -> None:
        """Summary, tables and diff in the thread, and the whole inventory as CSV files."""
        self._progress.pop(step.id, None)
        await self._reply(run, summary_blocks(run, step, report), f"Inventory recorded: {step.summary}")
        # Each message is rendered just before it is posted, and posts are paced: a large
        # inventory never takes the event loop (or Slack's rate limit) in one go.
        for blocks in table_messages(report.inventory):
            await self._reply(run, blocks, "Inventory table")
        if report.diff is not None and not report.diff.empty:
            for blocks in diff_messages(report.diff):
                await self._reply(run, blocks, "Inventory changes")
        await self._upload_csv(run, report)

    async def backup_progress(self, run: RunView, step: StepView, nodes: Sequence[NodeProgress]) -> None:
        """One thread message per backup, updated in place at most once a second."""
        live = self._step_message(run, step)
        if live is not None:
            await live.show(f"Backup of run #{run.id} in progress", progress_blocks(run, step, nodes))

    async def backup_finished(self, run: RunView, step: StepView, result: BackupResult) -> None:
        """The progress message becomes the final per-node table."""
        live = self._step_message(run, step)
        if live is not None:
            await live.show(f"Backup of run #{run.id}: {step.summary}", result_blocks(run, step, result))
            await live.flush()
            self._live.pop(step.id, None)

    async def step_failed(self, run: RunView, step: StepView, requester: Requester) -> None:
        """The failure goes to the thread and, privately, to the person who asked."""
        self._progress.pop(step.id, None)
        verb = "was interrupted" if step.state is StepState.INTERRUPTED else "failed"
        text = inline(f"{step.name} {verb}: {step.error}")  # the error may quote the cluster: never mrkdwn
        mention = [section(f"{who(step.requested_by)}, this needs you:")]
        await self._reply(run, mention + failure_blocks(step), text)
        await self._tell(requester, text, failure_blocks(step))

    async def request_refused(self, requester: Requester, reason: str, gist: str | None = None) -> None:
        """Only the requester sees why nothing started; the same refusal (a step already running,
        however long it has run: its `gist`) is not repeated to someone who keeps asking
        (handlers/reply_pacing.py)."""
        held_back = self._replies.admit(requester.user, gist or reason)
        if held_back is None:
            log.debug("%s was just given the same refusal; not repeated", requester.user)
            return
        # shown as text: no links, no mentions
        await self._tell(requester, f":warning: {escape(reason)}{held_back_note(held_back)}", None)

    async def approval_changed(self, run: RunView, notice: ApprovalNotice) -> dict[str, str] | None:
        """The request as a channel message of its own (approvers see it), kept up to date in place."""
        root = self._root(run)
        asked = notice.request
        await self._names.learn([asked.requester, *asked.approvals, asked.closed_by])
        posted = await self._requests.show(notice, root.channel if root is not None else None)
        if posted is not None:
            link = await self._requests.permalink(posted)
            request = (
                f"<{link}|Purge request #{notice.request.id}>"
                if link
                else f"Purge request #{notice.request.id}"
            )
            text = f"{request} is in the channel, waiting for {notice.request.required} approvals."
            await self._reply(run, [section(text)], text)
        return posted

    async def images_changed(self, run: RunView, step: StepView, report: ImagesReport) -> None:
        """One thread message per step, a line per custom image, updated in place as images finish."""
        live = self._step_message(run, step)
        if live is not None:
            await live.show(images_text(report), images_blocks(run, step, report))

    async def step_output(self, run: RunView, step: StepView, title: str, lines: Sequence[str]) -> None:
        """One thread message per step, showing the newest lines, updated in place at most once a second."""
        live = self._step_message(run, step)
        if live is not None:
            await live.show(f"{title} — output", output_blocks(title, lines))

    # internals -------------------------------------------------------------
    async def flush(self) -> None:
        """Deliver pending updates now (on shutdown, and for tests)."""
        await asyncio.gather(
            *(m.flush() for m in [*self._roots.values(), *self._live.values()]), self._requests.flush()
        )

    # results in the run's thread (handlers/thread_posts.py) ------------------
    async def preflight_checked(self, run: RunView, step: StepView, report: PreflightReport) -> None:
        await self._thread.preflight_checked(run, step, report)

    async def unverified_packages_acknowledged(
        self, run: RunView, report: PreflightReport, user: str
    ) -> None:
        await self._thread.unverified_packages_acknowledged(run, report, user)

    async def purge_finished(self, run: RunView, step: StepView, result: PurgeResult) -> None:
        await self._thread.purge_finished(run, step, result)

    async def plugins_restored(self, run: RunView, step: StepView, restore: PluginRestore) -> None:
        await self._thread.plugins_restored(run, step, restore)

    async def verification_finished(self, run: RunView, step: StepView, verification: Verification) -> None:
        await self._thread.verification_finished(run, step, verification)

    async def run_closed(self, run: RunView, step: StepView, report: FinalReport) -> None:
        await self._thread.run_closed(run, step, report)

    async def notice(self, run: RunView, notice: Notice) -> None:
        await self._thread.notice(run, notice)

    async def purge_choice(self, run: RunView, choice: PurgeChoice) -> None:
        await self._thread.purge_choice(run, choice)

    def _root(self, run: RunView) -> LiveMessage | None:
        root = self._roots.get(run.id)
        if root is None:
            ref = run.notifier_ref
            channel = ref.get("channel") or self._channel or run.channel
            if not channel:
                return None
            root = LiveMessage(
                self._client,
                channel,
                ts=ref.get("ts"),
                interval=self._interval,
                clock=self._clock,
                metadata=root_metadata(run),
            )
            self._roots[run.id] = root
        return root

    def _thread_ts(self, run: RunView) -> str | None:
        root = self._roots.get(run.id)
        return root.ts if root is not None else None

    def _step_message(self, run: RunView, step: StepView) -> LiveMessage | None:
        live = self._live.get(step.id)
        root = self._root(run)
        if live is None and root is not None and root.ts is not None:
            live = LiveMessage(
                self._client,
                root.channel,
                thread_ts=root.ts,
                interval=self._interval,
                pacer=self._pacer,
                clock=self._clock,
            )
            self._live[step.id] = live
        return live

    async def _reply(self, run: RunView, blocks: list[Block], text: str) -> dict[str, str] | None:
        """Post in the run's thread; where the reply went. Without a root message yet (its post
        failed), the root is posted first; if that fails again, the reply waits for the root."""
        root = self._root(run)
        if root is None:
            log.warning("run #%d has no channel to post to; set SLACK_CHANNEL", run.id)
            return None
        if root.ts is None:
            try:
                await self.run_changed(run)
            except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
                log.warning("run #%d: its message cannot be posted yet (%s)", run.id, type(exc).__name__)
        if root.ts is None:
            self._waiting.setdefault(run.id, []).append((blocks, text))
            log.warning("run #%d: a thread reply waits until the run's message is posted", run.id)
            return None
        return await self._post_reply(root, blocks, text)

    async def _post_reply(self, root: LiveMessage, blocks: list[Block], text: str) -> dict[str, str]:
        await self._pacer.wait(root.channel)
        posted = await self._client.chat_postMessage(
            channel=root.channel, thread_ts=root.ts, text=text, blocks=blocks
        )
        return {"channel": posted["channel"], "ts": posted["ts"]}

    async def _tell(self, requester: Requester, text: str, blocks: list[Block] | None) -> None:
        if not requester.channel or requester.user.startswith("cli:"):
            return
        try:
            await self._client.chat_postEphemeral(
                channel=requester.channel, user=requester.user, text=text, blocks=blocks
            )
        except SlackApiError as exc:
            log.warning("cannot tell %s privately: %s", requester.user, exc.response.get("error"))

    async def _upload_csv(self, run: RunView, report: InventoryReport) -> None:
        root = self._root(run)
        if root is None or root.ts is None:
            return
        snap = report.snapshot.id
        operators = "".join(await in_slices(operators_csv(report.inventory)))
        plugins = "".join(await in_slices(plugins_csv(report.inventory)))
        await self._client.files_upload_v2(
            file_uploads=[
                {
                    "content": operators,
                    "filename": f"regclean-run{run.id}-snapshot{snap}-operators.csv",
                    "title": f"Operators, snapshot #{snap}",
                },
                {
                    "content": plugins,
                    "filename": f"regclean-run{run.id}-snapshot{snap}-plugins.csv",
                    "title": f"Cluster plugins, snapshot #{snap}",
                },
            ],
            channel=root.channel,
            thread_ts=root.ts,
            initial_comment=f"The whole inventory of snapshot #{snap} as CSV.",
        )
