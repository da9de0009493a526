"""`regclean window …` and `regclean schedule [cancel ID]`: the maintenance window and what is scheduled,
through the same Runbook calls as Slack's (handlers/schedule_commands.py); times in UTC."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.cli.common import DONE, USAGE, Terminal, add_format, add_person, print_json, refused
from bot.cli.operate import job_dict, schedule_lines
from bot.config.settings import Settings
from bot.core.errors import WindowError

if TYPE_CHECKING:
    from bot.core.notifier import Requester
    from bot.runbook import Runbook
    from bot.scheduler import Scheduled
    from bot.steps.schedule.windows import Window


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`window [START DURATION | cancel]`, `schedule [cancel ID]`."""
    window = sub.add_parser(
        "window",
        help="show the maintenance window; declare one (START DURATION, e.g. 2026-12-01T02:00+08:00 4h); "
        "or cancel the declared one",
    )
    window.add_argument("words", nargs="*", metavar="START DURATION | cancel")
    schedule = sub.add_parser(
        "schedule", help="list what is scheduled, or cancel the scheduled purge of request ID"
    )
    schedule.add_argument("words", nargs="*", metavar="cancel ID")
    for parser in (window, schedule):
        add_format(parser)
        add_person(parser)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the chosen one."""
    words = [w for w in args.words]
    if args.command == "window":
        if not (not words or len(words) == 2 or (len(words) == 1 and words[0].lower() == "cancel")):
            return _usage("`window` takes nothing (show it), `START DURATION` (declare one), or `cancel`.")
        try:
            return _window(settings, args, words)
        except WindowError as exc:  # what was typed cannot be a window: a usage error, with the fix
            print(f"regclean: {exc}", file=sys.stderr)
            return USAGE
    if words and not (len(words) == 2 and words[0].lower() == "cancel" and words[1].lstrip("#").isdigit()):
        return _usage("`schedule` takes nothing (list) or `cancel ID` (the request of a scheduled purge).")
    return _schedule(settings, args, int(words[1].lstrip("#")) if words else None)


def _usage(sentence: str) -> int:
    print(f"regclean: {sentence}", file=sys.stderr)
    return USAGE


def _window(settings: Settings, args: argparse.Namespace, words: list[str]) -> int:
    from bot.steps.schedule.windows import outlasts

    with Terminal(settings, args) as term:
        who = term.requester.user
        active = term.active_run()

        async def work(rb: Runbook, _who: Requester) -> tuple[str | None, Window | None, Window | None, bool]:
            said = None
            if words and words[0].lower() == "cancel":
                said = f"Cancelled the window {(await rb.cancel_window(who)).describe(None)}."
            elif words:
                declared = await rb.declare_window(words[0], words[1], who, None)
                said = f"Declared the maintenance window {declared.describe(None)}. The purge runs only inside it."
            return (said, *await rb.window_now())

        message, inside, coming, used = term.drive(work)
        expected, target = term.runbook.expected_restore(), inside or coming
        warning = (
            outlasts(target, term.runbook.now(), expected, None) if words and target and expected else None
        )

    def window_dict(w: Window | None) -> dict[str, str] | None:
        return (
            None
            if w is None
            else {"start": w.start.isoformat(), "end": w.end.isoformat(), "text": w.describe(None)}
        )

    if args.format == "json":
        doc = {
            "message": message,
            "used": used,
            "inside": window_dict(inside),
            "coming": window_dict(coming),
            "warning": warning,
        }
        print_json(doc, active.id if active is not None else None)
        return DONE
    lines = [message] if message else []
    if warning:
        lines.append(f"Warning: {warning}")
    if not used:
        lines.append(
            "No maintenance window is configured (REGCLEAN_WINDOWS) or declared: the purge may run at any time."
        )
    if inside is not None:
        lines.append(f"Now is inside the window {inside.describe(None)}.")
    if coming is not None:
        lines.append(f"Next window: {coming.describe(None)}.")
    if used and inside is None and coming is None:
        lines.append(
            "Windows are in use, and none is open or coming up. Declare one: `regclean window START DURATION`."
        )
    print("\n".join(lines))
    return DONE


def _schedule(settings: Settings, args: argparse.Namespace, cancel: int | None) -> int:
    with Terminal(settings, args) as term:
        active = term.active_run()
        if cancel is not None:
            serving = serving_bot(term, settings)
            if serving is not None:
                return refused(
                    f"{serving} is serving and keeps the scheduled purge in its memory: a cancel from here "
                    f"would not stop it. Cancel it in Slack (`/regclean schedule cancel {cancel}`), or stop "
                    "that regclean first."
                )
        who = term.requester.user

        async def work(rb: Runbook, _who: Requester) -> tuple[str | None, list[Scheduled]]:
            said = await rb.cancel_scheduled(cancel, who) if cancel is not None else None
            return said, await rb.scheduled()

        message, jobs = term.drive(work)
    if args.format == "json":
        print_json(
            {"message": message, "scheduled": [job_dict(j) for j in jobs]}, active.id if active else None
        )
        return DONE
    print("\n".join(([message] if message else []) + schedule_lines(jobs)))
    return DONE


def serving_bot(term: Terminal, settings: Settings) -> str | None:
    """`regclean serve on host H, pid P` when a live process holds the runner lease, else None."""
    from bot.store.lease import Holder, RunnerLease

    lease = RunnerLease(
        term.store.db, Holder.this_process(), timedelta(seconds=settings.runner_lease_seconds)
    )
    held = lease.current()
    if held is None or lease.takeable(held, term.store.db.clock.now()):
        return None
    return f"regclean serve on {held.holder}"
