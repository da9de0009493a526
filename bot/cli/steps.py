"""`regclean inventory|backup|verify`: run a step, or pull-check images, from a terminal.

`inventory` and `backup` record into the bot's active run, or open one, as `/regclean` does: in
SLACK_CHANNEL's name, and they say on stderr which run it was (docs/architecture.md, "The command line").
`verify` without images is the run's verify step (bot/cli/operate.py); with images, a pull check
that opens no run.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from bot.cli import operate
from bot.cli.common import (
    DONE,
    FAILED,
    StepFailed,
    Terminal,
    add_format,
    add_person,
    print_json,
    say_run,
    text,
)
from bot.config.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`inventory`, `backup`, `verify [IMAGE…]`, each with `--format table|json`."""
    inventory = sub.add_parser("inventory", help="record the installed operators and cluster plugins")
    backup = sub.add_parser("backup", help="back up /cpaas/minio on every control-plane node, verified")
    verify = sub.add_parser(
        "verify",
        help="pull every image the run recorded (the run's verify step), or only the IMAGEs given "
        "(a check that opens no run)",
    )
    verify.add_argument(
        "images", nargs="*", metavar="IMAGE", help="repo:tag, repo@sha256:…, or REGISTRY/repo:tag"
    )
    for parser in (inventory, backup, verify):
        add_format(parser)
        add_person(parser)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the chosen one."""
    if args.command == "backup":
        return _backup(settings, args)
    if args.command == "verify":
        if not args.images:
            return operate.run(settings, args)
        return _verify(settings, args.format, args.images)
    return _inventory(settings, args)


def _inventory(settings: Settings, args: argparse.Namespace) -> int:
    from bot.steps.inventory.render import operator_table, plugin_table

    with Terminal(settings, args) as term:
        before = term.active_run()
        done, inventory = term.drive(lambda runbook, who: runbook.record_inventory_now(who))
        say_run(term.run(done.run_id), before is None or before.id != done.run_id)
    if inventory is None:
        raise StepFailed(done.error or f"{done.name} failed")
    if args.format == "json":
        print_json(inventory.as_dict(), done.run_id)
    else:
        print("\n".join(operator_table(inventory)))
        print()
        print("\n".join(plugin_table(inventory)))
    return DONE


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from bot.steps.inventory.render import align

    with Terminal(settings, args) as term:
        before = term.active_run()
        done, result = term.drive(lambda runbook, who: runbook.back_up_now(who))
        say_run(term.run(done.run_id), before is None or before.id != done.run_id)
    if result is None:
        raise StepFailed(done.error or f"{done.name} failed")
    if args.format == "json":
        print_json({"nodes": [n.as_dict() for n in result.nodes]}, done.run_id)
    else:
        header = ("NODE", "ADDRESS", "ARCHIVE", "BYTES", "ENTRIES", "SHA256", "VERIFIED", "PROBLEM")
        rows = [
            (
                n.node,
                n.address,
                n.archive,
                text(n.bytes),
                text(n.entries),
                n.sha256,
                "yes" if n.verified else "no",
                n.problem,
            )
            for n in result.nodes
        ]
        print("\n".join(align(header, rows)))
    return DONE if result.verified else FAILED


def _verify(settings: Settings, fmt: str, images: Sequence[str]) -> int:
    """Exit 0 only if every image pulls; opens no run."""
    from actions.pull_check import check_pulls
    from bot.config.targets import registry_target
    from bot.steps.inventory.render import align

    target = registry_target(settings)
    results = asyncio.run(check_pulls(target, images, concurrency=settings.verify_concurrency))
    if fmt == "json":
        print_json(
            {"images": [{"image": r.image, "pullable": r.pullable, "problem": r.problem} for r in results]},
            None,
        )
    else:
        header = ("IMAGE", "PULLABLE", "MANIFESTS", "BLOBS", "BYTES", "PROBLEM")
        rows = [
            (r.image, "yes" if r.pullable else "no", str(r.manifests), str(r.blobs), str(r.bytes), r.problem)
            for r in results
        ]
        print("\n".join(align(header, rows)))
    return DONE if all(r.pullable for r in results) else FAILED
