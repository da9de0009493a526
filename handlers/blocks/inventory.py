"""Block Kit for a recorded inventory: the summary, the tables split across messages, the diff."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

from actions.inventory import Inventory, OperatorRow, PluginRow
from bot.core.model import RunView, StepView
from bot.core.notifier import InventoryReport
from bot.steps.inventory.diff import Change, InventoryDiff, RowDiff
from bot.steps.inventory.render import (
    NONE,
    align,
    installed_text,
    operator_cells,
    operator_table,
    plugin_cells,
    plugin_table,
    table_cell,
)
from handlers.blocks.run import when, who
from handlers.blocks.tables import Block, code_chunks, context, escape, header, inline, paginate, section

Row = TypeVar("Row", OperatorRow, PluginRow)


def cluster_counts(inventory: Inventory) -> list[tuple[str, int, int]]:
    """(cluster, installed operators, installed plugins), sorted by cluster."""
    ops = Counter(o.cluster or "?" for o in inventory.operators)
    plugins = Counter(i.cluster or "?" for p in inventory.plugins for i in p.installed)
    return [(c, ops[c], plugins[c]) for c in sorted(set(ops) | set(plugins))]


def summary_blocks(run: RunView, step: StepView, report: InventoryReport) -> list[Block]:
    """The summary: counts per cluster, what the rules left out, and what changed."""
    inv, snap = report.inventory, report.snapshot
    counts = cluster_counts(inv)
    table = align(("CLUSTER", "OPERATORS", "PLUGINS"), [(c, str(o), str(p)) for c, o, p in counts])
    blocks: list[Block] = [
        header(f"Inventory recorded — run #{run.id}"),
        section(
            f"*{len(inv.operators)}* installed operators and *{len(inv.plugins)}* agnostic/aligned plugins "
            f"over *{len(counts)}* clusters. Snapshot #{snap.id}, recorded by {who(snap.recorded_by)} "
            f"at {when(snap.recorded_at)}."
        ),
    ]
    chunks = list(code_chunks(table[1:], head=table[0]))
    blocks.extend(section(c) for c in chunks[:40])
    if len(chunks) > 40:
        blocks.append(
            context(f"Only the first clusters of {len(counts)} fit here; the CSV file has them all.")
        )
    left_out = f"{inv.operators_not_installed} operatorviews not Installed"
    if inv.plugins_left_out:
        lifecycles = ", ".join(f"{inline(k)}: {n}" for k, n in sorted(inv.plugins_left_out.items()))
        left_out += f"; plugins by lifecycle, {lifecycles}"
    blocks.append(context(f"Left out, as the runbook does: {left_out}."))
    if inv.sources:
        blocks.append(context(" · ".join(f"{k}: `{inline(v)}`" for k, v in sorted(inv.sources.items()))))
    if inv.skipped:
        blocks.append(context(skipped_text(inv)))
    blocks.append(section(diff_headline(report)))
    return blocks


def skipped_text(inventory: Inventory) -> str:
    """The API groups discovery skipped, as kubectl skips them, with what each answered."""
    groups = "; ".join(
        f"`{inline(gv)}` answered {escape(why)}" for gv, why in sorted(inventory.skipped.items())
    )
    return (
        f":warning: Skipped, as kubectl does, API groups that did not answer: {groups}. "
        "Both kinds were found in groups that answered, so nothing is missing from the inventory."
    )


def diff_headline(report: InventoryReport) -> str:
    """One line on how this snapshot differs from the previous one."""
    if report.previous is None or report.diff is None:
        return "First inventory: nothing earlier to compare with."
    since = f"snapshot #{report.previous.id} ({when(report.previous.recorded_at)})"
    if report.diff.empty:
        return f"No change since {since}."
    o, p = report.diff.operators, report.diff.plugins
    return (
        f"*Changed since {since}:* operators +{len(o.added)} −{len(o.removed)} ~{len(o.changed)}; "
        f"plugins +{len(p.added)} −{len(p.removed)} ~{len(p.changed)}. Details below."
    )


def table_messages(inventory: Inventory) -> Iterator[list[Block]]:
    """The two runbook tables, as many thread messages as they need, rendered as they are read."""
    for title, lines in (
        (f"Operators ({len(inventory.operators)})", operator_table(inventory)),
        (f"Cluster plugins ({len(inventory.plugins)})", plugin_table(inventory)),
    ):
        head = next(lines)
        yield from paginate(title, code_chunks(lines, head=head))


def diff_messages(diff: InventoryDiff) -> Iterator[list[Block]]:
    """Every added, removed and changed row, split across messages."""
    lines = _diff_lines("operator", diff.operators, lambda o: f"{o.cluster}/{o.name}", operator_cells)
    lines += _diff_lines("plugin", diff.plugins, lambda p: f"{p.module}", plugin_cells)
    if lines:
        yield from paginate("What changed", code_chunks(lines))


def _diff_lines(
    kind: str,
    rows: RowDiff[Row],
    name: Callable[[Row], str],
    cells: Callable[[Row], tuple[str | None, ...]],
) -> list[str]:
    # Each part is a table cell: a cluster string must not end the code block it is shown in.
    lines = [f"+ {kind} {table_cell(name(r))}: {_cells(cells(r))}" for r in rows.added]
    lines += [f"- {kind} {table_cell(name(r))}: {_cells(cells(r))}" for r in rows.removed]
    for change in rows.changed:
        lines.append(f"~ {kind} {table_cell(name(change.after))}: {_changes(change)}")
    return lines


def _cells(values: Sequence[str | None]) -> str:
    return " | ".join(table_cell(v) for v in values)


def _changes(change: Change[OperatorRow] | Change[PluginRow]) -> str:
    parts = []
    for field in change.fields:
        before, after = getattr(change.before, field), getattr(change.after, field)
        if field == "installed":
            before = installed_text(change.before) or NONE  # type: ignore[arg-type]
            after = installed_text(change.after) or NONE  # type: ignore[arg-type]
        parts.append(f"{field} {table_cell(before)} → {table_cell(after)}")
    return "; ".join(parts)
