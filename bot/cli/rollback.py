"""`regclean rollback --plan`: how to put /cpaas/minio back from a run's verified archives (bot/rollback.py)."""

from __future__ import annotations

import argparse

from bot.cli.common import open_store, print_json
from bot.config.settings import Settings
from bot.core.errors import RunbookError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`rollback --plan [--run N] [--format text|json]`."""
    rollback = sub.add_parser(
        "rollback", help="print how to put /cpaas/minio back from a run's verified archives (never runs it)"
    )
    rollback.add_argument("--plan", action="store_true", required=True, help="print the plan (required)")
    rollback.add_argument(
        "--run", type=int, metavar="N", help="the run (default: the active or last closed one)"
    )
    rollback.add_argument("--format", choices=("text", "json"), default="text")


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Print the plan; it never runs it."""
    from bot.rollback import rollback_plan
    from bot.steps.backup.kept import KeptArchives
    from bot.steps.close.records import CloseRecords

    store = open_store(settings)
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
        print_json(plan.as_dict(), run_id)
    else:
        print(plan.text(), end="")
    return 0
