"""`regclean inventory|backup|verify`: run a step, or pull-check images, from a terminal."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from bot.cli.common import print_json, run_step, text
from bot.config.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`inventory`, `backup`, `verify IMAGE…`, each with `--format table|json`."""
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


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Run the chosen one."""
    if args.command == "backup":
        return _backup(settings, args.format)
    if args.command == "verify":
        return _verify(settings, args.format, args.images)
    return _inventory(settings, args.format)


def _inventory(settings: Settings, fmt: str) -> int:
    from bot.steps.inventory.render import operator_table, plugin_table

    inventory = run_step(settings, fmt, lambda runbook, who: runbook.record_inventory_now(who))
    if fmt == "json":
        print_json(inventory.as_dict())
    else:
        print("\n".join(operator_table(inventory)))
        print()
        print("\n".join(plugin_table(inventory)))
    return 0


def _backup(settings: Settings, fmt: str) -> int:
    from bot.steps.inventory.render import align

    result = run_step(settings, fmt, lambda runbook, who: runbook.back_up_now(who))
    if fmt == "json":
        print_json({"nodes": [n.as_dict() for n in result.nodes]})
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
    return 0 if result.verified else 1


def _verify(settings: Settings, fmt: str, images: Sequence[str]) -> int:
    """Exit 0 only if every image pulls."""
    from actions.pull_check import check_pulls
    from bot.config.targets import registry_target
    from bot.steps.inventory.render import align

    target = registry_target(settings)
    results = asyncio.run(check_pulls(target, images, concurrency=settings.verify_concurrency))
    if fmt == "json":
        print_json(
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
