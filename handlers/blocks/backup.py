"""Block Kit for a backup: live progress per node, then the per-node table."""

from __future__ import annotations

from collections.abc import Sequence

from actions.backup import BackupResult, NodeProgress
from bot.core.model import RunView, StepView
from bot.steps.approval.plan import PlannedBackup
from bot.steps.inventory.render import table_cell
from handlers.blocks.run import named, slack_date
from handlers.blocks.tables import (
    Block,
    capped_entries,
    context,
    entry_blocks,
    escape,
    header,
    inline,
    section,
    truncate,
    wrap,
)

BAR = 20
SHOWN = 4
#: code blocks of a purge request's backups; a plan with more nodes says how many were left out
PLAN_SECTIONS = 3
"""Changed paths named per node; the rest are counted."""


def size(n: int | None) -> str:
    """Bytes for people."""
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def progress_blocks(run: RunView, step: StepView, nodes: Sequence[NodeProgress]) -> list[Block]:
    """One line per node: phase and bytes done out of the total."""
    lines = []
    for p in sorted(nodes, key=lambda n: n.address):
        share = p.done / p.total if p.total else (1.0 if p.phase == "done" else 0.0)
        filled = round(share * BAR)
        bar = "█" * filled + "░" * (BAR - filled)
        lines.append(
            f"`{inline(p.address)}` {inline(p.node)} — {p.phase} `{bar}` {size(p.done)} of {size(p.total)} "
            f"({share:.0%})"
        )
    return [
        header(f"Backup of MinIO — run #{run.id}"),
        section("\n".join(lines) or "Connecting to the nodes…"),
        context(f"Started by {named(step.requested_by)} at {slack_date(step.started_at)}"),
    ]


def result_blocks(run: RunView, step: StepView, result: BackupResult) -> list[Block]:
    """Each node's backup (`node_entry()`: node, address, size, entries, verified; archive; sha256),
    then every problem."""
    entries = [
        node_entry(
            n.node,
            n.address,
            [
                size(n.bytes),
                f"{'–' if n.entries is None else n.entries} entries",
                "verified" if n.verified else "NOT verified",
            ],
            n.archive,
            n.sha256,
        )
        for n in result.nodes
    ]
    verified = sum(n.verified for n in result.nodes)
    icon = ":white_check_mark:" if result.verified else ":x:"
    blocks: list[Block] = [
        header(f"Backup of MinIO — run #{run.id}"),
        section(f"{icon} *{verified} of {len(result.nodes)}* nodes have a verified backup."),
        *(section(c) for c, _ in entry_blocks(entries)),
    ]
    problems = [f"• `{inline(n.address)}` {escape(n.problem or '')}" for n in result.nodes if n.problem]
    if problems:
        blocks.append(section("*Problems*\n" + "\n".join(problems)))
    blocks.extend(live_blocks(result))
    copies = [f"`{inline(n.address)}` → `{inline(n.copy)}`" for n in result.nodes if n.copy]
    if copies:
        blocks.append(context("Copied off the nodes, sha256 checked again: " + ", ".join(copies)))
    blocks.append(context(f"Started by {named(step.requested_by)} at {slack_date(step.started_at)}"))
    return blocks


def node_entry(
    node: str | None, address: str | None, facts: Sequence[str], archive: str | None, sha256: str | None
) -> list[str]:
    """A node's backup as code-block lines within LINE columns: `node  address  facts…`, then the
    archive's path (wrapped after a `/` when it is longer than a line) and its sha256, whole on its
    line so that it can be compared with `sha256sum`."""
    head = "  ".join([table_cell(node), table_cell(address), *facts])
    return [*wrap(head, rest="  "), *wrap(archive, first="  archive  "), *wrap(sha256, first="  sha256   ")]


def backup_blocks(backups: Sequence[PlannedBackup]) -> list[Block]:
    """A purge request's node backups, key–value lines per node (`node_entry()`): node, address,
    size; the archive's path; its sha256."""
    if not backups:
        return [section("*Backups* –")]
    entries = [
        node_entry(_cut(b.node), _cut(b.address), [size(b.bytes)], b.archive, b.sha256) for b in backups
    ]
    chunks, rest = capped_entries(entries, PLAN_SECTIONS)
    blocks = [section(f"*Backups* of {len(backups)} nodes"), *(section(c) for c in chunks)]
    if rest:
        blocks.append(context(f"…and {rest} more nodes."))
    return blocks


def _cut(value: str | None) -> str | None:
    """A node's name or address (escaped later, with the whole code block), cut at 253 characters,
    the longest name Kubernetes gives a node."""
    return None if value is None else truncate(value, 253)


def live_blocks(result: BackupResult) -> list[Block]:
    """What MinIO changed while tar read it (tolerated), the second runs, and what was left out."""
    lines = []
    for n in result.nodes:
        if n.attempts > 1:
            lines.append(
                f"• `{inline(n.address)}` archived {n.attempts} times: object data changed during the first "
                f"({_named(n.first_attempt)})"
            )
        if n.tolerated:
            lines.append(f"• `{inline(n.address)}` tolerated, MinIO's bookkeeping: {_named(n.tolerated)}")
    blocks: list[Block] = []
    if lines:
        blocks.append(section("*MinIO was live*\n" + "\n".join(lines)))
    excluded = next((n.excluded for n in result.nodes if n.excluded), ())
    if excluded:
        blocks.append(context("Left out of every archive: " + "; ".join(inline(e) for e in excluded)))
    return blocks


def _named(items: Sequence[str]) -> str:
    shown = "; ".join(inline(i) for i in items[:SHOWN])
    return shown + (f"; and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
