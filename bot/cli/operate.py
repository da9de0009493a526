"""`regclean status|restore|close|verify`: the run's steps from a terminal when Slack is down, through
the same Runbook calls as `/regclean` (handlers/commands.py), so the same gates hold and the same
audit is written (docs/architecture.md, "The command line")."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.cli.common import (
    USAGE,
    Terminal,
    add_format,
    add_person,
    print_json,
    step_dict,
)
from bot.config.settings import Settings

if TYPE_CHECKING:
    from bot.core.model import RunView, StepView
    from bot.core.notifier import Requester
    from bot.runbook import Runbook
    from bot.scheduler import Scheduled

#: what each kind of job does, for a person
KINDS = {
    "purge": "purge of request #{n} at the window's start",
    "expiry": "expiry of request #{n}",
    "reminder": "reminder about request #{n}",
    "overrun": "overrun check of step #{n}",
}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`status`, `restore core|plugins [--retry-failed]`, `close` (`verify` is added by bot/cli/steps.py)."""
    status = sub.add_parser(
        "status",
        help="the active run's steps, what is scheduled, and the last finished run (changes nothing)",
    )
    restore = sub.add_parser(
        "restore",
        help="after the purge: push the core images back (upload.sh, then a pull check), or the plugin "
        "packages (violet, then the custom images, a pull check of everything, and the close)",
    )
    restore.add_argument("what", choices=("core", "plugins"), help="what to push back")
    restore.add_argument(
        "--retry-failed", action="store_true", help="plugins only: push again only the packages that failed"
    )
    close = sub.add_parser(
        "close", help="record the inventory again, write the final report, and close the run"
    )
    for parser in (status, restore, close):
        add_format(parser)
        add_person(parser)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the chosen one."""
    if args.command == "status":
        return _status(settings, args)
    start: Callable[[Runbook, Requester], None]
    if args.command == "restore":
        if args.what == "core" and args.retry_failed:
            print(
                "regclean: --retry-failed is for `restore plugins`; `restore core` runs again in full.",
                file=sys.stderr,
            )
            return USAGE
        if args.what == "core":
            start = lambda runbook, who: runbook.start_restore_core(who)  # noqa: E731
        else:
            retry = bool(args.retry_failed)
            start = lambda runbook, who: runbook.start_restore_plugins(who, retry_failed=retry)  # noqa: E731
    elif args.command == "close":
        start = lambda runbook, who: runbook.start_close(who)  # noqa: E731
    else:
        start = lambda runbook, who: runbook.start_verify(who)  # noqa: E731
    with Terminal(settings, args) as term:
        code, after, steps = term.act(start)
        refusals = list(term.console.refusals)
    if args.format == "json":
        doc = {
            "command": args.command,
            "exit": code,
            "refusals": refusals,
            "steps": [step_dict(s) for s in steps],
        }
        print_json(doc, after.id if after is not None else None)
    elif steps or not refusals:  # a refusal alone was said on stderr
        print("\n".join(step_lines(steps)))
    return code


def step_lines(steps: list[StepView]) -> list[str]:
    """One line per step: its name, state, and summary or error."""
    from bot.steps.inventory.render import align

    rows = [(f"#{s.id}", s.name, str(s.state), s.error or s.summary) for s in steps]
    return align(("STEP", "NAME", "STATE", "SUMMARY"), rows) if rows else ["No step ran."]


def _status(settings: Settings, args: argparse.Namespace) -> int:
    from bot.core.timefmt import format_time

    with Terminal(settings, args) as term:
        run, jobs, last = term.drive(lambda runbook, _who: runbook.overview())
    if args.format == "json":
        doc = {
            "state": str(run.state) if run is not None else None,
            "opened_at": run.opened_at.isoformat() if run is not None else None,
            "opened_by": run.opened_by if run is not None else None,
            "channel": run.channel if run is not None else None,
            "steps": [step_dict(s) for s in run.steps] if run is not None else [],
            "scheduled": [job_dict(j) for j in jobs],
            "last_finished": (
                {"run": last[0], "state": last[1], "at": last[2].isoformat()} if last is not None else None
            ),
        }
        print_json(doc, run.id if run is not None else None)
        return 0
    print(run_line(run))
    if run is not None:
        print("\n".join(step_lines(list(run.steps))))
    print("\n".join(schedule_lines(jobs)))
    if last is not None:
        print(f"Last finished run: #{last[0]}, {last[1]}, at {format_time(last[2], None)}.")
    return 0


def run_line(run: RunView | None) -> str:
    """The run in one line."""
    if run is None:
        return "No run is active. `regclean inventory` (or `/regclean inventory`) starts one."
    channel = f" in {run.channel}" if run.channel else " (no channel: Slack does not show it)"
    return (
        f"Run #{run.id}, {run.state}, opened {run.opened_at:%Y-%m-%d %H:%M} UTC by {run.opened_by}{channel}."
    )


def schedule_lines(jobs: list[Scheduled]) -> list[str]:
    """One line per job, in UTC."""
    from bot.core.timefmt import format_time

    if not jobs:
        return ["Nothing is scheduled."]
    lines = ["Scheduled:"]
    for job in jobs:
        when = format_time(job.at, None) if job.at else "paused"
        lines.append(f"  {when}: {KINDS.get(job.kind, job.kind).format(n=job.subject)}")
    return lines


def job_dict(job: Scheduled) -> dict[str, object]:
    """A job as JSON."""
    return {
        "id": job.id,
        "kind": job.kind,
        "subject": job.subject,
        "at": job.at.isoformat() if job.at else None,
    }
