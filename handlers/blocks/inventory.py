"""Block Kit for a recorded inventory: the summary, the tables split across messages, the diff."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from actions.inventory import Inventory, OperatorRow, PluginRow
from bot.core.model import RunView, StepView
from bot.core.notifier import InventoryReport
from bot.steps.inventory.diff import Change, InventoryDiff, RowDiff
from bot.steps.inventory.render import NONE, installed_text, operator_cells, plugin_cells, table_cell
from handlers.blocks.run import named, slack_date
from handlers.blocks.tables import (
    Block,
    context,
    entry_blocks,
    escape,
    header,
    inline,
    key_values,
    narrow_table,
    paginate,
    section,
    wrap,
)

Row = TypeVar("Row", OperatorRow, PluginRow)
Entries = tuple[str | None, list[list[str]]]
"""A narrow table: its header line (None for key–value rows) and each entry's lines."""
OPERATOR_FIELDS = ("cluster", "name", "phase", "artifact", "installed_csv", "display_name")
PLUGIN_FIELDS = ("module", "lifecycle", "installed", "display_name")
NAMED = frozenset({"cluster", "name", "module"})
"""Fields a diff's line names (`cluster/name`, `module`): not repeated under it."""


def cluster_counts(inventory: Inventory) -> list[tuple[str, int, int]]:
    """(cluster, installed operators, installed plugins), sorted by cluster."""
    ops = Counter(o.cluster or "?" for o in inventory.operators)
    plugins = Counter(i.cluster or "?" for p in inventory.plugins for i in p.installed)
    return [(c, ops[c], plugins[c]) for c in sorted(set(ops) | set(plugins))]


def summary_blocks(run: RunView, step: StepView, report: InventoryReport) -> list[Block]:
    """The summary: counts per cluster, what the rules left out, and what changed."""
    inv, snap = report.inventory, report.snapshot
    counts = cluster_counts(inv)
    head, rows = narrow_table(
        ("CLUSTER", "OPERATORS", "PLUGINS"), [(c, str(o), str(p)) for c, o, p in counts]
    )
    blocks: list[Block] = [
        header(f"Inventory recorded — run #{run.id}"),
        section(
            f"*{len(inv.operators)}* installed operators and *{len(inv.plugins)}* agnostic/aligned plugins "
            f"over *{len(counts)}* clusters. Snapshot #{snap.id}, recorded by {named(snap.recorded_by)} "
            f"at {slack_date(snap.recorded_at)}."
        ),
    ]
    chunks = [chunk for chunk, _ in entry_blocks(rows, head=head)]
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
    since = f"snapshot #{report.previous.id} ({slack_date(report.previous.recorded_at)})"
    if report.diff.empty:
        return f"No change since {since}."
    o, p = report.diff.operators, report.diff.plugins
    return (
        f"*Changed since {since}:* operators +{len(o.added)} −{len(o.removed)} ~{len(o.changed)}; "
        f"plugins +{len(p.added)} −{len(p.removed)} ~{len(p.changed)}. Details below."
    )


def operator_entries(inventory: Inventory) -> Entries:
    """The operators grouped by cluster, within a phone's width: a cluster's line, then each
    operator's name and installed CSV under it. Phase (always Installed), artifact and display name
    are in the CSV file."""
    operators = sorted(inventory.operators, key=lambda o: o.cluster or "")
    head, rows = narrow_table(
        ("NAME", "INSTALLED_CSV"), [(o.name, o.installed_csv) for o in operators], indent="  "
    )
    entries, index = [], 0
    for cluster, group in itertools.groupby(operators, key=lambda o: o.cluster):
        count = len(list(group))
        # the cluster's line goes with its first operator, so that it never ends a code block alone
        entries.append([f"{table_cell(cluster)} ({count})", *rows[index]])
        entries += rows[index + 1 : index + count]
        index += count
    return head, entries


def plugin_entries(inventory: Inventory) -> Entries:
    """The plugins within a phone's width: module, lifecycle, and where each is installed (wrapped
    under itself). Display names are in the CSV file."""
    return narrow_table(
        ("MODULE", "LIFECYCLE", "INSTALLED"),
        [(p.module, p.lifecycle, installed_text(p)) for p in inventory.plugins],
    )


def table_messages(inventory: Inventory) -> Iterator[list[Block]]:
    """The two runbook tables, narrowed to a phone's width, as many thread messages as they need,
    rendered as they are read; the CSV files posted after them have every column."""
    for title, (head, entries) in (
        (
            f"Operators ({len(inventory.operators)}) by cluster; phase, artifact and display name are "
            "in the CSV file below",
            operator_entries(inventory),
        ),
        (
            f"Cluster plugins ({len(inventory.plugins)}); display names are in the CSV file below",
            plugin_entries(inventory),
        ),
    ):
        yield from paginate(title, (chunk for chunk, _ in entry_blocks(entries, head=head)))


def diff_messages(diff: InventoryDiff) -> Iterator[list[Block]]:
    """Every added, removed and changed row, a line naming it and its fields under it, split across
    messages."""
    entries = _diff_lines("operator", diff.operators, lambda o: f"{o.cluster}/{o.name}", operator_cells)
    entries += _diff_lines("plugin", diff.plugins, lambda p: f"{p.module}", plugin_cells)
    if entries:
        yield from paginate("What changed", (chunk for chunk, _ in entry_blocks(entries)))


def _diff_lines(
    kind: str,
    rows: RowDiff[Row],
    name: Callable[[Row], str],
    cells: Callable[[Row], tuple[str | None, ...]],
) -> list[list[str]]:
    # Each part is a table cell: a cluster string must not end the code block it is shown in.
    fields = OPERATOR_FIELDS if kind == "operator" else PLUGIN_FIELDS
    entries = [_entry(f"+ {kind} {name(r)}", zip(fields, cells(r), strict=True)) for r in rows.added]
    entries += [_entry(f"- {kind} {name(r)}", zip(fields, cells(r), strict=True)) for r in rows.removed]
    entries += [_entry(f"~ {kind} {name(c.after)}", _changes(c)) for c in rows.changed]
    return entries


def _entry(head: str, fields: Iterable[tuple[str, str | None]]) -> list[str]:
    """The row's line, then a line per field but those the line names, `name  value` (`key_value()`)."""
    pairs = [(f, v) for f, v in fields if f not in NAMED]
    return [*wrap(head, rest="    "), *(line for e in key_values(pairs, indent="    ") for line in e)]


def _changes(change: Change[OperatorRow] | Change[PluginRow]) -> list[tuple[str, str | None]]:
    parts: list[tuple[str, str | None]] = []
    for field in change.fields:
        before, after = getattr(change.before, field), getattr(change.after, field)
        if field == "installed":
            before = installed_text(change.before) or NONE  # type: ignore[arg-type]
            after = installed_text(change.after) or NONE  # type: ignore[arg-type]
        parts.append((field, f"{table_cell(before)} → {table_cell(after)}"))
    return parts
