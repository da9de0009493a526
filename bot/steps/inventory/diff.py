"""What changed between two inventory snapshots: added, removed, changed."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, fields
from typing import Generic, TypeVar

from actions.inventory import Inventory, OperatorRow, PluginRow
from actions.slices import in_slices

Row = TypeVar("Row", OperatorRow, PluginRow)


@dataclass(frozen=True)
class Change(Generic[Row]):
    """One row whose key stayed but whose values differ."""

    before: Row
    after: Row

    @property
    def fields(self) -> tuple[str, ...]:
        """The names of the fields that differ."""
        return tuple(
            f.name for f in fields(self.before) if getattr(self.before, f.name) != getattr(self.after, f.name)
        )


@dataclass(frozen=True)
class RowDiff(Generic[Row]):
    """Added, removed and changed rows of one kind."""

    added: tuple[Row, ...]
    removed: tuple[Row, ...]
    changed: tuple[Change[Row], ...]

    @property
    def empty(self) -> bool:
        """Nothing changed."""
        return not (self.added or self.removed or self.changed)


@dataclass(frozen=True)
class InventoryDiff:
    """The difference between an earlier snapshot and a new one."""

    operators: RowDiff[OperatorRow]
    plugins: RowDiff[PluginRow]

    @property
    def empty(self) -> bool:
        """Both inventories are the same."""
        return self.operators.empty and self.plugins.empty


def operator_key(row: OperatorRow) -> Hashable:
    """An operator is identified by its cluster and name."""
    return (row.cluster, row.name)


def plugin_key(row: PluginRow) -> Hashable:
    """A plugin is identified by its module."""
    return row.module


async def diff_inventories(before: Inventory, after: Inventory) -> InventoryDiff:
    """Compare two inventories row by row, in slices on the event loop (they can be 10,000s of rows)."""
    return InventoryDiff(
        operators=await _diff(before.operators, after.operators, operator_key),
        plugins=await _diff(before.plugins, after.plugins, plugin_key),
    )


async def _diff(before: Sequence[Row], after: Sequence[Row], key: Callable[[Row], Hashable]) -> RowDiff[Row]:
    keyed_before = dict(await in_slices((key(r), r) for r in before))
    keyed_after = dict(await in_slices((key(r), r) for r in after))
    changed = await in_slices(
        Change(keyed_before[k], r)
        for k, r in keyed_after.items()
        if k in keyed_before and keyed_before[k] != r
    )
    return RowDiff(
        added=tuple(r for k, r in keyed_after.items() if k not in keyed_before),
        removed=tuple(r for k, r in keyed_before.items() if k not in keyed_after),
        changed=tuple(changed),
    )
