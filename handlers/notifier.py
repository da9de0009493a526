"""The Notifier for Slack: the run's root checklist, updated in place, and its thread."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from actions.slices import in_slices
from bot.model import RunView, StepView
from bot.notifier import InventoryReport, Requester
from bot.render import operators_csv, plugins_csv
from handlers.blocks import checklist_blocks, checklist_text, failure_blocks
from handlers.inventory_blocks import diff_messages, summary_blocks, table_messages
from handlers.tables import Block

log = logging.getLogger(__name__)


class SlackNotifier:
    """Posts a run as one root message (a live checklist) with the details in its thread."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str | None = None,
        min_update_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._channel = channel
        self._interval = min_update_interval
        self._clock = clock
        self._refs: dict[int, dict[str, Any]] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self._progress: dict[int, str] = {}
        self._latest: dict[int, RunView] = {}
        self._last_update: dict[int, float] = {}
        self._pending: dict[int, asyncio.Task[None]] = {}

    # Notifier ------------------------------------------------------------
    async def run_changed(self, run: RunView) -> dict[str, Any] | None:
        """Post the checklist the first time, then update it in place (at most once a second)."""
        async with self._locks.setdefault(run.id, asyncio.Lock()):
            ref = self._refs.get(run.id) or run.notifier_ref
            if ref.get("ts"):
                self._refs[run.id] = ref
                self._schedule_update(run)
                return None
            channel = self._channel or run.channel
            if not channel:
                log.warning("run #%d has no channel to post to; set SLACK_CHANNEL", run.id)
                return None
            posted = await self._client.chat_postMessage(
                channel=channel, text=checklist_text(run), blocks=checklist_blocks(run, self._progress)
            )
            ref = {"channel": posted["channel"], "ts": posted["ts"]}
            self._refs[run.id] = ref
            self._last_update[run.id] = self._clock()
            return ref

    async def step_progress(self, run: RunView, step: StepView, text: str) -> None:
        """Show progress on the checklist line of the running step."""
        self._progress[step.id] = text
        if self._refs.get(run.id) or run.notifier_ref.get("ts"):
            self._refs.setdefault(run.id, run.notifier_ref)
            self._schedule_update(run)

    async def inventory_recorded(self, run: RunView, step: StepView, report: InventoryReport) -> None:
        """Summary, tables and diff in the thread, and the whole inventory as CSV files."""
        self._progress.pop(step.id, None)
        await self._reply(run, summary_blocks(run, step, report), f"Inventory recorded: {step.summary}")
        # Rendering a large inventory is CPU work: keep it off the event loop that acks Slack.
        tables = await asyncio.to_thread(table_messages, report.inventory)
        for blocks in tables:
            await self._reply(run, blocks, "Inventory table")
        if report.diff is not None and not report.diff.empty:
            for blocks in await asyncio.to_thread(diff_messages, report.diff):
                await self._reply(run, blocks, "Inventory changes")
        await self._upload_csv(run, report)

    async def step_failed(self, run: RunView, step: StepView, requester: Requester) -> None:
        """The failure goes to the thread and, privately, to the person who asked."""
        self._progress.pop(step.id, None)
        text = f"{step.name} failed: {step.error}"
        await self._reply(run, failure_blocks(step), text)
        if requester.channel and not requester.user.startswith("cli:"):
            try:
                await self._client.chat_postEphemeral(
                    channel=requester.channel, user=requester.user, text=text, blocks=failure_blocks(step)
                )
            except SlackApiError as exc:
                log.warning("cannot tell %s privately: %s", requester.user, exc.response.get("error"))

    async def request_refused(self, requester: Requester, reason: str) -> None:
        """Only the requester sees why nothing started."""
        if requester.channel and not requester.user.startswith("cli:"):
            try:
                await self._client.chat_postEphemeral(
                    channel=requester.channel, user=requester.user, text=f":warning: {reason}"
                )
            except SlackApiError as exc:
                log.warning("cannot tell %s privately: %s", requester.user, exc.response.get("error"))

    # internals -------------------------------------------------------------
    async def flush(self) -> None:
        """Deliver pending checklist updates now (on shutdown, and for tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending.values()), return_exceptions=True)

    def _schedule_update(self, run: RunView) -> None:
        self._latest[run.id] = run
        if run.id in self._pending:
            return  # the pending update will send the newest state
        wait = self._last_update.get(run.id, float("-inf")) + self._interval - self._clock()
        task = asyncio.create_task(self._update_after(run.id, max(0.0, wait)))
        self._pending[run.id] = task

    async def _update_after(self, run_id: int, delay: float) -> None:
        try:
            if delay:
                await asyncio.sleep(delay)  # rate limit: chat.update at most about once a second
            run = self._latest[run_id]
            ref = self._refs[run_id]
            self._last_update[run_id] = self._clock()
            await self._client.chat_update(
                channel=ref["channel"],
                ts=ref["ts"],
                text=checklist_text(run),
                blocks=checklist_blocks(run, self._progress),
            )
        except SlackApiError as exc:
            log.warning("cannot update run #%d's checklist: %s", run_id, exc.response.get("error"))
        except Exception:
            log.exception("cannot update run #%d's checklist", run_id)
        finally:
            self._pending.pop(run_id, None)

    async def _reply(self, run: RunView, blocks: list[Block], text: str) -> None:
        ref = self._refs.get(run.id) or run.notifier_ref
        if not ref.get("ts"):
            log.warning("run #%d has no root message; dropping a thread reply", run.id)
            return
        await self._client.chat_postMessage(
            channel=ref["channel"], thread_ts=ref["ts"], text=text, blocks=blocks
        )

    async def _upload_csv(self, run: RunView, report: InventoryReport) -> None:
        ref = self._refs.get(run.id) or run.notifier_ref
        if not ref.get("ts"):
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
            channel=ref["channel"],
            thread_ts=ref["ts"],
            initial_comment=f"The whole inventory of snapshot #{snap} as CSV.",
        )
