"""Plain-text rendering of inventories, shared by the terminal and the Slack tables."""

from __future__ import annotations

import csv
import io
import itertools
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

from actions.inventory import Inventory, OperatorRow, PluginRow

NONE = "<none>"
OPERATOR_HEADER = ("CLUSTER", "NAME", "PHASE", "ARTIFACT", "INSTALLED_CSV", "DISPLAY_NAME")
PLUGIN_HEADER = ("MODULE", "LIFECYCLE", "INSTALLED(CLUSTER:VERSION)", "DISPLAY_NAME")


def aligned(header: Sequence[str], rows: Sequence[Sequence[str | None]]) -> Iterator[str]:
    """Lines of a table with aligned columns, as kubectl prints them (`<none>` for a missing value).

    The widths take one pass over the rows; the lines are made one at a time as they are read,
    so that a large table can be posted piece by piece without rendering it all at once.
    """
    widths = [columns(h) for h in header]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], columns(table_cell(cell)))

    def line(values: Sequence[str | None]) -> str:
        return "   ".join(pad(table_cell(v), w) for v, w in zip(values, widths, strict=True)).rstrip()

    yield line(header)
    for row in rows:
        yield line(row)


def columns(text: str) -> int:
    """How many columns a monospace font gives `text`: East Asian wide and fullwidth characters
    (TiDB 分布式数据库) take two, combining marks none, every other character one."""
    return sum(
        0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text
    )


def pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` columns (as `str.ljust`, counting columns)."""
    return text + " " * (width - columns(text))


_BREAKS = str.maketrans(
    {"\n": " ", "\r": " ", "\t": " ", "\v": " ", "\f": " ", "\x85": " ", "\u2028": " ", "\u2029": " "}
)


def table_cell(value: str | None) -> str:
    """A cell as one line that cannot end the code block it is shown in: line breaks become spaces
    and a code fence loses its backticks (ˋˋˋ); `<none>` for a missing value. Cluster strings such as
    display names are not ours to trust."""
    if value is None:
        return NONE
    return value.translate(_BREAKS).replace("```", "ˋˋˋ")


def align(header: Sequence[str], rows: Iterable[Sequence[str | None]]) -> list[str]:
    """All lines of an aligned table."""
    return list(aligned(header, list(rows)))


def operator_cells(o: OperatorRow) -> tuple[str | None, ...]:
    """An operator's row in the runbook's column order."""
    return (o.cluster, o.name, o.phase, o.artifact, o.installed_csv, o.display_name)


def installed_text(p: PluginRow) -> str:
    """Where a plugin is installed, as the runbook prints it: `cluster:version, …`."""
    return ", ".join(f"{i.cluster}:{i.version}" for i in p.installed)


def plugin_cells(p: PluginRow) -> tuple[str | None, ...]:
    """A plugin's row in the runbook's column order."""
    return (p.module, p.lifecycle, installed_text(p), p.display_name)


def operator_table(inventory: Inventory) -> Iterator[str]:
    """The runbook's operator table, header first, line by line."""
    return aligned(OPERATOR_HEADER, [operator_cells(o) for o in inventory.operators])


def plugin_table(inventory: Inventory) -> Iterator[str]:
    """The runbook's cluster plugin table, header first, line by line."""
    return aligned(PLUGIN_HEADER, [plugin_cells(p) for p in inventory.plugins])


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula (OWASP, "CSV Injection")."""


def csv_cell(value: str | None) -> str:
    """A cell that a spreadsheet shows as text: one that would start a formula gets a leading `'`,
    as OWASP advises (cluster strings such as display names are not ours to trust)."""
    if value is None:
        return ""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_lines(header: Sequence[str], rows: Iterable[Sequence[str | None]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; a "\r" inside a cell is then quoted
    for row in itertools.chain([header], rows):
        writer.writerow([csv_cell(c) for c in row])
        yield out.getvalue()
        out.seek(0)
        out.truncate()


def operators_csv(inventory: Inventory) -> Iterator[str]:
    """Every recorded operator as CSV lines (an empty cell for a missing value)."""
    header = ("cluster", "name", "phase", "artifact", "installed_csv", "display_name")
    return _csv_lines(header, (operator_cells(o) for o in inventory.operators))


def plugins_csv(inventory: Inventory) -> Iterator[str]:
    """Every recorded plugin as CSV lines; `installed` is `cluster:version, …` as in the runbook."""
    return _csv_lines(
        ("module", "lifecycle", "installed", "display_name"), (plugin_cells(p) for p in inventory.plugins)
    )
