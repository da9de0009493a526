"""What the subcommands share: who acts, the runbook on the bot's database with a console notifier,
the exit codes, and JSON on stdout (docs/architecture.md, "The command line")."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from bot.core.errors import RunbookError

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.console import ConsoleNotifier
    from bot.core.model import RunView, StepView
    from bot.core.notifier import Requester
    from bot.runbook import Runbook
    from bot.store.runs import Store

T = TypeVar("T")

#: the exit codes (README.md, "The command line"; `regclean --help`)
DONE, FAILED, USAGE, REFUSED = 0, 1, 2, 3
#: the version of every JSON document the CLI prints; a change that breaks a reader bumps it
SCHEMA = 1


class StepFailed(RunbookError):
    """A step ended without a result; the message says why."""


def add_person(parser: argparse.ArgumentParser) -> None:
    """`--as NAME`: the person at the terminal, recorded next to the local user in the audit."""
    parser.add_argument(
        "--as",
        dest="as_name",
        metavar="NAME",
        help="who you are (recorded in the audit with your local user, cli:LOGIN)",
    )


def add_format(parser: argparse.ArgumentParser) -> None:
    """`--format table|json`."""
    parser.add_argument("--format", choices=("table", "json"), default="table")


def actor(args: argparse.Namespace) -> str:
    """`cli:<local user>`; with `--as NAME`, the name is remembered for the audit's actor name."""
    who = f"cli:{login()}"
    name = getattr(args, "as_name", None)
    if name:
        remember_name(who, name)
    return who


def login() -> str:
    """The local user's name; `uid<N>` in a container whose user has no name (an arbitrary UID)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no LOGNAME/USER and no passwd entry
        return f"uid{os.getuid()}"


def remember_name(actor_id: str, name: str) -> None:
    """The audit trail writes `name` next to `actor_id` in the rows this process writes."""
    from bot.audit.actors import remember

    remember(actor_id, name)


def open_store(settings: Settings) -> Store:
    """The bot's database, migrated; the caller closes it."""
    from bot.store.migrate import open_database
    from bot.store.runs import Store

    return Store(open_database(settings.database_url.get_secret_value()))


class Terminal:
    """One command's runbook: the bot's database, a console notifier, the persistent jobs (loaded,
    never fired here), and the person acting. The run it works in is SLACK_CHANNEL's, as from Slack."""

    def __init__(self, settings: Settings, args: argparse.Namespace) -> None:
        from bot.console import ConsoleNotifier
        from bot.core.notifier import Requester
        from bot.runbook import Runbook

        self.settings = settings
        self.json = getattr(args, "format", "table") == "json"
        self.console: ConsoleNotifier = ConsoleNotifier(verbose=not self.json)
        self.store = open_store(settings)
        self.runbook: Runbook = Runbook.from_settings(settings, self.store, self.console)
        self.requester: Requester = Requester(actor(args), settings.slack_channel)

    def __enter__(self) -> Terminal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.store.close()

    def drive(self, work: Callable[[Runbook, Requester], Awaitable[T]]) -> T:
        """Run `work`, and every step it sets going, to their end."""
        return asyncio.run(self._drive(work))

    async def _drive(self, work: Callable[[Runbook, Requester], Awaitable[T]]) -> T:
        from bot.scheduler import Jobs, make_scheduler
        from bot.store.jobs import JobTable

        # "Scheduler started" would read as if jobs ran here; they are only listed and cancelled
        logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)
        scheduler = make_scheduler()
        scheduler.start(paused=True)  # the jobs are listed and cancelled here; the serving bot fires them
        try:
            jobs = Jobs(scheduler, JobTable(self.store.db))
            await asyncio.to_thread(jobs.restore)
            self.runbook.use_jobs(jobs)
            try:
                return await work(self.runbook, self.requester)
            finally:
                await self.runbook.drain()
                await self.runbook.close()
        finally:
            scheduler.shutdown(wait=False)

    def active_run(self) -> RunView | None:
        """The active run now (blocking)."""
        return self.store.active_run()

    def run(self, run_id: int) -> RunView | None:
        """A run by its id (blocking)."""
        return self.store.run(run_id)

    def act(
        self, start: Callable[[Runbook, Requester], object]
    ) -> tuple[int, RunView | None, list[StepView]]:
        """Set a step going as a handler does, wait for it and what follows it; the exit code, the run,
        and the steps this command started. Each refusal is said on stderr."""

        async def work(runbook: Runbook, who: Requester) -> None:
            start(runbook, who)

        return self.act_async(work)

    def act_async(
        self, work: Callable[[Runbook, Requester], Awaitable[None]]
    ) -> tuple[int, RunView | None, list[StepView]]:
        """`act`, for work that awaits before it sets steps going."""
        before = self.active_run()
        self.drive(work)
        after = self.run(before.id) if before is not None else self.active_run()
        steps = new_steps(before, after)
        for reason in self.console.refusals:
            refused(reason)
        return outcome(self.console.refusals, steps), after, steps


def new_steps(before: RunView | None, after: RunView | None) -> list[StepView]:
    """The steps of `after` that `before` did not have: what this command started."""
    if after is None:
        return []
    seen = {s.id for s in before.steps} if before is not None and before.id == after.id else set()
    return [s for s in after.steps if s.id not in seen]


def outcome(refusals: list[str], steps: list[StepView]) -> int:
    """REFUSED when anything was refused, FAILED when a step did not succeed, else DONE."""
    from bot.core.model import StepState

    if refusals:
        return REFUSED
    if any(s.state is not StepState.SUCCEEDED for s in steps):
        return FAILED
    return DONE


def say_run(run: RunView | None, opened: bool) -> None:
    """On stderr: which run this command recorded into, and when Slack shows it."""
    if run is None:
        return
    if not opened:
        print(f"regclean: recorded into run #{run.id}, the active run.", file=sys.stderr)
        return
    where = (
        f"Slack shows it in {run.channel} once the bot is serving and the run changes next"
        if run.channel
        else "it has no channel (SLACK_CHANNEL is not set), so Slack will not show it"
    )
    print(f"regclean: opened run #{run.id} in the bot's database: {where}.", file=sys.stderr)


def refused(reason: str) -> int:
    """Say why on stderr; REFUSED."""
    print(f"regclean: refused: {reason}", file=sys.stderr)
    return REFUSED


def print_json(doc: dict[str, Any], run: int | None) -> None:
    """One JSON document on stdout, with the schema version and the run's id first."""
    json.dump({"schema": SCHEMA, "run": run, **doc}, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def step_dict(step: StepView) -> dict[str, Any]:
    """A step as JSON."""
    return {
        "id": step.id,
        "name": step.name,
        "state": str(step.state),
        "summary": step.summary,
        "error": step.error,
    }


def text(value: int | None) -> str | None:
    """A number as a table cell."""
    return None if value is None else str(value)
