"""The engine under the steps: runs, steps as background tasks, and their outcome in the store.

Steps run as asyncio tasks that the engine owns, so that a handler can acknowledge Slack at
once. All state goes through the store first; the notifier is told afterwards, and a notifier
that fails never changes the outcome of a step. Every step is handed the engine in its
`StepContext` (docs/architecture.md, "Steps").
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import timedelta
from typing import Any, ParamSpec, Protocol, TypeVar

from bot.core.durations import format_duration
from bot.core.errors import RegcleanError, RunbookError, StepBusy
from bot.core.model import Notice, RunView, StepState, StepView, stopped_while_running
from bot.core.notifier import Notifier, Requester
from bot.core.step_lines import log_end, log_start
from bot.logs import in_step, out_of_step
from bot.scheduler import Jobs
from bot.store.runs import Store

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")
StepBody = Callable[[RunView, StepView, Requester], Awaitable[T]]
Counts = Mapping[str, int]
"""What a step did, counted (`{"objects_removed": 1234}`): logged with its end, and measured."""


class StepWatcher(Protocol):
    """Told when a step starts and ends (the metrics, bot/metrics.py)."""

    def step_started(self, name: str) -> None: ...

    def step_ended(self, name: str, outcome: str, seconds: float, counts: Counts) -> None: ...


class Engine:
    """Owns the background tasks and the bookkeeping every step shares."""

    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        *,
        expected: Mapping[str, timedelta] | None = None,
        watcher: StepWatcher | None = None,
    ) -> None:
        self._store = store
        self.watcher = watcher
        """told of each step's start and end (the metrics); None tells nobody"""
        self._notifier = notifier
        self._expected = dict(expected or {})
        """how long each step is expected to take (a step past it gets a warning in its thread)"""
        self.jobs: Jobs | None = None
        """the persistent scheduler's jobs, once it runs; None runs without (unit tests, the CLI)"""
        self._shown: set[asyncio.Future[None]] = set()
        """checklist updates in flight (they outlive a cancelled step)"""
        self._tasks: dict[asyncio.Task[Any], int | None] = {}
        """background task → the step it runs (None until it has one)"""

    async def recover(self) -> list[StepView]:
        """At start-up: mark the steps that were running when the bot stopped as interrupted, and tell
        whoever asked for each what to check. Nothing is started again on its own."""
        interrupted = await self.db(self._store.interrupt_running_steps)
        for step in interrupted:
            log.warning(
                "step %s #%d of run #%d was interrupted by a restart", step.name, step.id, step.run_id
            )
        active = await self.db(self._store.active_run)
        runs = {s.run_id for s in interrupted} | ({active.id} if active else set())
        for run_id in sorted(runs):
            run = await self.db(self._store.run, run_id)
            if run is not None:
                await self.show(run)
                await self._tell_interrupted(run, [s for s in interrupted if s.run_id == run_id])
        return interrupted

    async def _tell_interrupted(self, run: RunView, steps: list[StepView]) -> None:
        for step in steps:
            requester = Requester(step.requested_by, run.channel)
            await self.tell(self._notifier.step_failed(run, step, requester))

    async def status(self) -> RunView | None:
        """The active run, or None when there is none."""
        return await self.db(self._store.active_run)

    async def close(self) -> None:
        """Cancel the background steps; each is recorded as interrupted, never as succeeded."""
        steps = [step for step in self._tasks.values() if step is not None]
        for task in list(self._tasks):
            task.cancel()
        await self.drain()
        # A task cancelled before it ever ran could not record anything itself.
        stopped: dict[int, list[StepView]] = {}
        for step_id in steps:
            step = await self.db(self._store.run_step, step_id)
            step = await self.finish(step, StepState.INTERRUPTED, error=stopped_while_running(step.name))
            if step.state is StepState.INTERRUPTED:
                stopped.setdefault(step.run_id, []).append(step)
        for run_id in sorted(stopped):
            run = await self.db(self._store.run, run_id)
            if run is not None:
                await self.show(run)
                await self._tell_interrupted(run, stopped[run_id])

    async def drain(self) -> None:
        """Wait until every background step, and every checklist update, has finished."""
        while self._tasks or self._shown:
            await asyncio.gather(*list(self._tasks), *list(self._shown), return_exceptions=True)

    # ---------------------------------------------------------------------
    async def requested(self, requester: Requester, name: str, body: StepBody[T]) -> T | None:
        """Start a step for whoever asked and run its body; a refusal goes back to them (and gives None)."""
        try:
            run, step = await self.start(requester, name)
        except RunbookError as exc:
            await self.refuse(requester, str(exc), gist=exc.gist)
            return None
        return await body(run, step, requester)

    async def refuse(self, requester: Requester, why: str, *, gist: str | None = None) -> None:
        """Tell whoever asked why their request was refused (`gist`: see `RunbookError.gist`)."""
        await self.tell(self._notifier.request_refused(requester, why, gist))

    async def notice(self, run_id: int, notice: Notice) -> None:
        """A notice in a run's thread, naming each person once."""
        run = await self.db(self._store.run, run_id)
        if run is not None:
            people = tuple(dict.fromkeys(notice.people))
            await self.tell(self._notifier.notice(run, dataclasses.replace(notice, people=people)))

    async def start(self, requester: Requester, name: str) -> tuple[RunView, StepView]:
        """Open the run if needed and record the step as running; refused if it already runs."""
        run = await self.db(self._store.open_run, requester.user, requester.channel)
        step = await self.db(self._store.start_step, run.id, name, requester.user)
        task = asyncio.current_task()
        if step is not None and task in self._tasks:
            self._tasks[task] = step.id  # from here on, stopping must mark this step interrupted
        if step is None:
            running = run.latest(name)
            # How long, not a clock time: the refusal is plain text, read in any time zone.
            took = format_duration(self._store.db.clock.now() - running.started_at) if running else ""
            since = f" (for {took})" if running else ""
            raise StepBusy(
                f"The {name} step of run #{run.id} is already running{since}. Wait for it to finish.",
                gist=f"{name} of run #{run.id} is already running",
            )
        in_step(run.id, name, step.id)
        log_start(step, requester.user)
        if self.watcher is not None:
            self.watcher.step_started(name)
        expected = self._expected.get(name)
        if self.jobs is not None and expected is not None:
            await self.db(self.jobs.watch_step, step.id, step.started_at + expected)
        run = await self.refresh(run)
        await self.show(run)
        return run, step

    async def guarded(
        self, run: RunView, step: StepView, requester: Requester, work: Callable[[], Awaitable[T]]
    ) -> T | None:
        """Run a step's work; on failure record it as failed, with a message a person can act on.

        A `RegcleanError` says what went wrong in its own words; anything else is an internal error
        whose details go to the log under an incident number, never to Slack."""
        try:
            return await work()
        except RegcleanError as exc:
            error = str(exc)
        except asyncio.CancelledError:
            await self.finish(step, StepState.INTERRUPTED, error=stopped_while_running(step.name))
            raise
        except Exception:
            incident = uuid.uuid4().hex[:8]
            log.exception("step %s #%d failed unexpectedly (incident %s)", step.name, step.id, incident)
            error = f"Internal error (incident {incident}); the bot's log has the details."
        failed = await self.finish(step, StepState.FAILED, error=error)
        run = await self.refresh(run)
        await self.tell(self._notifier.step_failed(run, failed, requester))
        await self.show(run)
        return None

    async def conclude(
        self,
        run: RunView,
        step: StepView,
        requester: Requester,
        summary: str,
        error: str | None,
        result: Callable[[RunView, StepView], Awaitable[object]],
        counts: Counts | None = None,
    ) -> StepView:
        """End a step that reports a result per item: succeeded, or failed with `error` (then the
        requester is told too). The result goes to the notifier, then the checklist is shown."""
        state = StepState.FAILED if error else StepState.SUCCEEDED
        done = await self.finish(step, state, summary=summary, error=error, counts=counts)
        run = await self.refresh(run)
        await self.tell(result(run, done))
        if error:
            await self.tell(self._notifier.step_failed(run, done, requester))
        await self.show(run)
        return done

    async def finish(
        self,
        step: StepView,
        state: StepState,
        *,
        summary: str | None = None,
        error: str | None = None,
        counts: Counts | None = None,
    ) -> StepView:
        """Record a running step's end in the store, and log and measure it with its counts."""
        done = await self.db(self._store.finish_step, step.id, state, summary=summary, error=error)
        if done.state is state:
            self.ended(done, counts)
        return done

    def ended(self, step: StepView, counts: Counts | None = None) -> None:
        """Log a step that has ended (one line: outcome, duration, counts) and tell the watcher; for a
        step whose end its own records stored (the close), `finish()` calls it otherwise."""
        counted = dict(counts or {})
        seconds = log_end(step, counted)
        if self.watcher is not None:
            self.watcher.step_ended(step.name, str(step.state), seconds, counted)
        out_of_step()

    async def show(self, run: RunView) -> None:
        """Show the run's checklist as it stands (the notifier keeps one message per run)."""
        # Shielded: a stop that cancels the step must not cut the root message off half-posted,
        # or the run would lose track of it and post a second one.
        shown = asyncio.ensure_future(self._show_and_remember(run))
        self._shown.add(shown)
        shown.add_done_callback(self._shown.discard)
        await asyncio.shield(shown)

    async def _show_and_remember(self, run: RunView) -> None:
        ref = await self.tell(self._notifier.run_changed(run))
        if isinstance(ref, dict) and ref != run.notifier_ref:
            await self.db(self._store.set_notifier_ref, run.id, ref)

    async def refresh(self, run: RunView) -> RunView:
        """The run as stored now."""
        fresh = await self.db(self._store.run, run.id)
        return fresh if fresh is not None else run

    def spawn(self, coro: Coroutine[Any, Any, Any], step_id: int | None = None) -> None:
        """Run work in the background as a task of the engine: a stop interrupts it, `drain()` waits for it."""
        task = asyncio.create_task(coro)
        self._tasks[task] = step_id
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        """A background step that broke outside its own error handling still ends as failed."""
        step_id = self._tasks.pop(task, None)
        if task.cancelled() or task.exception() is None:
            return
        incident = uuid.uuid4().hex[:8]
        log.error("background step failed unexpectedly (incident %s)", incident, exc_info=task.exception())
        if step_id is not None:
            error = f"Internal error (incident {incident}); the bot's log has the details."
            self.spawn(self._fail(step_id, error))

    async def _fail(self, step_id: int, error: str) -> None:
        step = await self.finish(await self.db(self._store.run_step, step_id), StepState.FAILED, error=error)
        run = await self.db(self._store.run, step.run_id)
        if run is not None:
            await self.show(run)

    @staticmethod
    async def tell(awaitable: Awaitable[T]) -> T | None:
        """Deliver a notification; a delivery failure is logged, never fatal to the step."""
        try:
            return await awaitable
        except Exception:
            log.exception("notifier failed")
            return None

    @staticmethod
    async def db(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)
