"""`regclean doctor|rehearse`: read-only checks of the platform and of the night (bot/doctor/, bot/rehearse/)."""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import open_store, print_json
from bot.config.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`doctor`, `rehearse`, each with `--format table|json`."""
    doctor = sub.add_parser(
        "doctor",
        help="check, read-only, everything the runbook needs after the purge; exit 1 if any check fails",
    )
    doctor.add_argument("--format", choices=("table", "json"), default="table")
    rehearse = sub.add_parser(
        "rehearse",
        help="tell, read-only, what the night would delete, lose and take, and whether it is GO; exit 1 if NO-GO",
    )
    rehearse.add_argument("--format", choices=("table", "json"), default="table")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the chosen one."""
    if args.command == "doctor":
        return _doctor(settings, args.format)
    return _rehearse(settings, args.format)


def _doctor(settings: Settings, fmt: str) -> int:
    """Exit 0 only when every check passes."""
    from bot.app import slack_probe
    from bot.doctor.render import doctor_lines
    from bot.doctor.run import run_doctor

    report = asyncio.run(run_doctor(settings, slack_probe(settings)))
    if fmt == "json":
        print_json(report.as_dict(), None)
    else:
        print("\n".join(doctor_lines(report)))
    return 0 if report.passed else 1


def _rehearse(settings: Settings, fmt: str) -> int:
    """Exit 0 only on GO; opens no run and changes nothing (bot/rehearse/)."""
    from bot.app import slack_probe
    from bot.rehearse.durations import last_closed_run
    from bot.rehearse.render import rehearsal_lines
    from bot.rehearse.run import run_rehearsal

    store = open_store(settings)
    try:
        last = last_closed_run(store)
    finally:
        store.close()
    rehearsal = asyncio.run(run_rehearsal(settings, slack_probe(settings), last))
    if fmt == "json":
        print_json(rehearsal.as_dict(), None)
    else:
        print("\n".join(rehearsal_lines(rehearsal)))
    return 0 if rehearsal.go else 1
