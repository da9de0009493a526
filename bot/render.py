"""Plain-text rendering of inventories, shared by the terminal and the Slack tables."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from actions.inventory import Inventory, OperatorRow, PluginRow

NONE = "<none>"
OPERATOR_HEADER = ("CLUSTER", "NAME", "PHASE", "ARTIFACT", "INSTALLED_CSV", "DISPLAY_NAME")
PLUGIN_HEADER = ("MODULE", "LIFECYCLE", "INSTALLED(CLUSTER:VERSION)", "DISPLAY_NAME")


def align(header: Sequence[str], rows: Iterable[Sequence[str | None]]) -> list[str]:
    """Lines of a table with aligned columns, as kubectl prints them (`<none>` for a missing value)."""
    cells = [[NONE if c is None else c for c in row] for row in rows]
    widths = [len(h) for h in header]
    for row in cells:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))

    def line(values: Sequence[str]) -> str:
        return "   ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return [line(header), *(line(r) for r in cells)]


def operator_cells(o: OperatorRow) -> tuple[str | None, ...]:
    """An operator's row in the runbook's column order."""
    return (o.cluster, o.name, o.phase, o.artifact, o.installed_csv, o.display_name)


def installed_text(p: PluginRow) -> str:
    """Where a plugin is installed, as the runbook prints it: `cluster:version, …`."""
    return ", ".join(f"{i.cluster}:{i.version}" for i in p.installed)


def plugin_cells(p: PluginRow) -> tuple[str | None, ...]:
    """A plugin's row in the runbook's column order."""
    return (p.module, p.lifecycle, installed_text(p), p.display_name)


def operator_table(inventory: Inventory) -> list[str]:
    """The runbook's operator table."""
    return align(OPERATOR_HEADER, [operator_cells(o) for o in inventory.operators])


def plugin_table(inventory: Inventory) -> list[str]:
    """The runbook's cluster plugin table."""
    return align(PLUGIN_HEADER, [plugin_cells(p) for p in inventory.plugins])


def _csv(header: Sequence[str], rows: Iterable[Sequence[str | None]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([("" if c is None else c) for c in row] for row in rows)
    return out.getvalue()


def operators_csv(inventory: Inventory) -> str:
    """Every recorded operator as CSV (an empty cell for a missing value)."""
    header = ("cluster", "name", "phase", "artifact", "installed_csv", "display_name")
    return _csv(header, (operator_cells(o) for o in inventory.operators))


def plugins_csv(inventory: Inventory) -> str:
    """Every recorded plugin as CSV; `installed` is `cluster:version, …` as in the runbook."""
    return _csv(
        ("module", "lifecycle", "installed", "display_name"), (plugin_cells(p) for p in inventory.plugins)
    )
