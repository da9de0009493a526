"""`regclean`: serve the bot, run a step from a terminal (inventory, backup, verify), print the
rollback plan, check the platform (doctor), rehearse the night, or run the demo."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from actions.errors import RegcleanError
from bot.config.settings import ConfigError, Settings
from bot.core.errors import RunbookError
from bot.version import VersionAction

if TYPE_CHECKING:
    from bot.core.model import StepView
    from bot.core.notifier import Requester
    from bot.runbook import Runbook

T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `regclean` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            try:
                from sandbox.demo import run_demo  # the only place the bot touches the sandbox
            except ModuleNotFoundError as exc:  # the image leaves the sandbox and its servers out
                need = f"the demo needs the sandbox ({exc.name} is missing): run `make demo` in a checkout"
                print(f"regclean: {need}", file=sys.stderr)
                return 2
            return asyncio.run(run_demo(mode=args.mode))
        settings = Settings.load(config_file=args.config)
        _logging(settings.log_level)
        for deprecated in settings.deprecations():
            logging.getLogger("regclean.config").warning("%s", deprecated)
        if args.command == "serve":
            return _serve(settings, args)
        if args.command == "backup":
            return _backup(settings, args.format)
        if args.command == "verify":
            return _verify(settings, args.format, args.images)
        if args.command == "rollback":
            return _rollback(settings, args)
        if args.command == "doctor":
            return _doctor(settings, args.format)
        if args.command == "rehearse":
            return _rehearse(settings, args.format)
        return _inventory(settings, args.format)
    except ConfigError as exc:
        print(f"regclean: {exc}", file=sys.stderr)
        return 2
    except RegcleanError as exc:
        print(f"regclean: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regclean",
        description="Clean the built-in image registry of an ACP installation, safely, from Slack.",
    )
    parser.add_argument("--config", metavar="FILE", help="YAML settings file (default: $REGCLEAN_CONFIG)")
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the Slack bot (HTTP mode and/or Socket Mode)")
    serve.add_argument("--host", help="listen address in HTTP mode (default: $REGCLEAN_HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (default: $REGCLEAN_PORT or 3000)")
    serve.add_argument(
        "--no-wait",
        action="store_true",
        help="exit instead of waiting when another regclean holds the runner lease on the same database",
    )
    inventory = sub.add_parser("inventory", help="record the installed operators and cluster plugins")
    inventory.add_argument("--format", choices=("table", "json"), default="table")
    backup = sub.add_parser("backup", help="back up /cpaas/minio on every control-plane node, verified")
    backup.add_argument("--format", choices=("table", "json"), default="table")
    verify = sub.add_parser(
        "verify",
        help="pull every manifest and blob of these images from the platform registry, digests checked",
    )
    verify.add_argument("--format", choices=("table", "json"), default="table")
    verify.add_argument(
        "images", nargs="+", metavar="IMAGE", help="repo:tag, repo@sha256:…, or REGISTRY/repo:tag"
    )
    rollback = sub.add_parser(
        "rollback", help="print how to put /cpaas/minio back from a run's verified archives (never runs it)"
    )
    rollback.add_argument("--plan", action="store_true", required=True, help="print the plan (required)")
    rollback.add_argument(
        "--run", type=int, metavar="N", help="the run (default: the active or last closed one)"
    )
    rollback.add_argument("--format", choices=("text", "json"), default="text")
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
    demo = sub.add_parser("demo", help="run the runbook against the sandbox and print the conversation")
    demo.add_argument("--mode", choices=("http", "socket"), default="http", help="how the bot talks to Slack")
    return parser


def _logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # slack_sdk logs request details at DEBUG; never let them near a log file.
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, logging.getLogger().level))


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from bot.app import serve

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    asyncio.run(serve(settings, wait=not args.no_wait))
    return 0


def _inventory(settings: Settings, fmt: str) -> int:
    from bot.steps.inventory.render import operator_table, plugin_table

    inventory = _run(settings, fmt, lambda runbook, who: runbook.record_inventory_now(who))
    if fmt == "json":
        _print_json(inventory.as_dict())
    else:
        print("\n".join(operator_table(inventory)))
        print()
        print("\n".join(plugin_table(inventory)))
    return 0


def _backup(settings: Settings, fmt: str) -> int:
    from bot.steps.inventory.render import align

    result = _run(settings, fmt, lambda runbook, who: runbook.back_up_now(who))
    if fmt == "json":
        _print_json({"nodes": [n.as_dict() for n in result.nodes]})
    else:
        header = ("NODE", "ADDRESS", "ARCHIVE", "BYTES", "ENTRIES", "SHA256", "VERIFIED", "PROBLEM")
        rows = [
            (
                n.node,
                n.address,
                n.archive,
                _text(n.bytes),
                _text(n.entries),
                n.sha256,
                "yes" if n.verified else "no",
                n.problem,
            )
            for n in result.nodes
        ]
        print("\n".join(align(header, rows)))
    return 0 if result.verified else 1


def _verify(settings: Settings, fmt: str, images: Sequence[str]) -> int:
    """Exit 0 only if every image pulls."""
    from actions.pull_check import check_pulls
    from bot.config.targets import registry_target
    from bot.steps.inventory.render import align

    target = registry_target(settings)
    results = asyncio.run(check_pulls(target, images, concurrency=settings.verify_concurrency))
    if fmt == "json":
        _print_json(
            {"images": [{"image": r.image, "pullable": r.pullable, "problem": r.problem} for r in results]}
        )
    else:
        header = ("IMAGE", "PULLABLE", "MANIFESTS", "BLOBS", "BYTES", "PROBLEM")
        rows = [
            (r.image, "yes" if r.pullable else "no", str(r.manifests), str(r.blobs), str(r.bytes), r.problem)
            for r in results
        ]
        print("\n".join(align(header, rows)))
    return 0 if all(r.pullable for r in results) else 1


def _run(
    settings: Settings,
    fmt: str,
    step: Callable[[Runbook, Requester], Coroutine[Any, Any, tuple[StepView, T | None]]],
) -> T:
    """Run one step from the terminal (progress on stderr in table format); raise StepFailed if it failed."""
    from bot.console import ConsoleNotifier
    from bot.core.notifier import Requester
    from bot.runbook import Runbook
    from bot.store.migrate import open_database
    from bot.store.runs import Store

    store = Store(open_database(settings.database_url.get_secret_value()))
    try:
        runbook = Runbook.from_settings(settings, store, ConsoleNotifier(verbose=fmt == "table"))
        done, result = asyncio.run(step(runbook, Requester(f"cli:{getpass.getuser()}")))
    finally:
        store.close()
    if result is None:
        raise StepFailed(done.error or f"{done.name} failed")
    return result


def _rollback(settings: Settings, args: argparse.Namespace) -> int:
    from bot.rollback import rollback_plan
    from bot.steps.backup.kept import KeptArchives
    from bot.steps.close.records import CloseRecords
    from bot.store.migrate import open_database
    from bot.store.runs import Store

    store = Store(open_database(settings.database_url.get_secret_value()))
    try:
        run_id = args.run
        if run_id is None:
            active, closed = store.active_run(), CloseRecords(store.db).last_closed()
            run_id = active.id if active else closed[0] if closed else None
        if run_id is None or store.run(run_id) is None:
            raise RunbookError(f"There is no run #{run_id}." if run_id else "There is no run yet.")
        purged = KeptArchives(store.db).purged_step(run_id)  # after a purge: what it was approved with
        backups = store.step_backups(purged) if purged is not None else store.latest_backups(run_id)
        plan = rollback_plan(settings, run_id, backups)
    finally:
        store.close()
    if args.format == "json":
        _print_json(plan.as_dict())
    else:
        print(plan.text(), end="")
    return 0


def _doctor(settings: Settings, fmt: str) -> int:
    """Exit 0 only when every check passes."""
    from bot.app import slack_probe
    from bot.doctor.render import doctor_lines
    from bot.doctor.run import run_doctor

    report = asyncio.run(run_doctor(settings, slack_probe(settings)))
    if fmt == "json":
        _print_json(report.as_dict())
    else:
        print("\n".join(doctor_lines(report)))
    return 0 if report.passed else 1


def _rehearse(settings: Settings, fmt: str) -> int:
    """Exit 0 only on GO; opens no run and changes nothing (bot/rehearse/)."""
    from bot.app import slack_probe
    from bot.rehearse.durations import last_closed_run
    from bot.rehearse.render import rehearsal_lines
    from bot.rehearse.run import run_rehearsal
    from bot.store.migrate import open_database
    from bot.store.runs import Store

    store = Store(open_database(settings.database_url.get_secret_value()))
    try:
        last = last_closed_run(store)
    finally:
        store.close()
    rehearsal = asyncio.run(run_rehearsal(settings, slack_probe(settings), last))
    if fmt == "json":
        _print_json(rehearsal.as_dict())
    else:
        print("\n".join(rehearsal_lines(rehearsal)))
    return 0 if rehearsal.go else 1


class StepFailed(RunbookError):
    """A step ended without a result; the message says why."""


def _print_json(doc: object) -> None:
    json.dump(doc, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def _text(value: int | None) -> str | None:
    return None if value is None else str(value)


if __name__ == "__main__":
    sys.exit(main())
