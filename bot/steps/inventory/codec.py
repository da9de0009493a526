"""How a stored inventory snapshot is encoded: JSON lines, produced one line at a time."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from typing import Any

from actions.inventory import Inventory


def inventory_lines(inventory: Inventory) -> Iterator[str]:
    """A stored snapshot, as JSON lines: a header with the small fields and the row counts, then
    one line per row. Produced one line at a time, so that a caller can encode in slices: one
    `json.dumps` of a 10,000-row inventory would hold the GIL for tens of milliseconds."""
    header = {
        **inventory.record_header(),
        "_rows": {"operators": len(inventory.operators), "plugins": len(inventory.plugins)},
    }
    yield json.dumps(header, separators=(",", ":"))
    for row in itertools.chain(inventory.operator_dicts(), inventory.plugin_dicts()):
        yield json.dumps(row, separators=(",", ":"), ensure_ascii=False)


def decode_inventory(data: str) -> Inventory:
    """The inverse of `inventory_lines`."""
    lines = iter(data.split("\n"))
    record: dict[str, Any] = json.loads(next(lines))
    counts = record.pop("_rows")
    for key in ("operators", "plugins"):
        record[key] = [json.loads(next(lines)) for _ in range(counts[key])]
    return Inventory.from_record(record)
