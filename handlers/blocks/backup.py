"""Block Kit for a backup: live progress per node, then the per-node table."""

from __future__ import annotations

from collections.abc import Sequence

from actions.backup import BackupResult, NodeProgress
from bot.core.model import RunView, StepView
from bot.steps.inventory.render import align
from handlers.blocks.run import who
from handlers.blocks.tables import Block, code_chunks, context, escape, header, inline, section

BAR = 20
SHOWN = 4
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
        context(f"Started by {who(step.requested_by)} at {step.started_at:%H:%M:%S} UTC"),
    ]


def result_blocks(run: RunView, step: StepView, result: BackupResult) -> list[Block]:
    """The final table: address, archive, size, entries, sha256, verified; then every problem."""
    table = align(
        ("ADDRESS", "NODE", "ARCHIVE", "SIZE", "ENTRIES", "SHA256", "VERIFIED"),
        [
            (
                n.address,
                n.node,
                n.archive,
                size(n.bytes),
                None if n.entries is None else str(n.entries),
                n.sha256,
                "yes" if n.verified else "NO",
            )
            for n in result.nodes
        ],
    )
    verified = sum(n.verified for n in result.nodes)
    icon = ":white_check_mark:" if result.verified else ":x:"
    blocks: list[Block] = [
        header(f"Backup of MinIO — run #{run.id}"),
        section(f"{icon} *{verified} of {len(result.nodes)}* nodes have a verified backup."),
        *(section(c) for c in code_chunks(table[1:], head=table[0])),
    ]
    problems = [f"• `{inline(n.address)}` {escape(n.problem or '')}" for n in result.nodes if n.problem]
    if problems:
        blocks.append(section("*Problems*\n" + "\n".join(problems)))
    blocks.extend(live_blocks(result))
    copies = [f"`{inline(n.address)}` → `{inline(n.copy)}`" for n in result.nodes if n.copy]
    if copies:
        blocks.append(context("Copied off the nodes, sha256 checked again: " + ", ".join(copies)))
    blocks.append(context(f"Started by {who(step.requested_by)} at {step.started_at:%H:%M:%S} UTC"))
    return blocks


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
