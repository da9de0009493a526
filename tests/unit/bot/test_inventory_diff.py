"""Differences between two inventories."""

from __future__ import annotations

from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from bot.steps.inventory.diff import diff_inventories


def op(name: str, csv: str, cluster: str = "global") -> OperatorRow:
    return OperatorRow(cluster, name, "Installed", name, csv, None)


def plugin(module: str, *versions: tuple[str, str]) -> PluginRow:
    return PluginRow(module, "agnostic", tuple(Installation(c, v) for c, v in versions), None)


async def test_added_removed_and_changed_rows_are_told_apart() -> None:
    before = Inventory(
        operators=(op("a", "a.v1"), op("b", "b.v1"), op("a", "a.v1", cluster="business-1")),
        plugins=(plugin("argocd", ("global", "v1")), plugin("old")),
    )
    after = Inventory(
        operators=(op("a", "a.v2"), op("c", "c.v1"), op("a", "a.v1", cluster="business-1")),
        plugins=(plugin("argocd", ("global", "v1"), ("business-1", "v1")), plugin("new")),
    )
    diff = await diff_inventories(before, after)
    assert [o.name for o in diff.operators.added] == ["c"]
    assert [o.name for o in diff.operators.removed] == ["b"]
    assert [(c.before.installed_csv, c.after.installed_csv) for c in diff.operators.changed] == [
        ("a.v1", "a.v2")
    ]
    assert diff.operators.changed[0].fields == ("installed_csv",)
    assert [p.module for p in diff.plugins.added] == ["new"]
    assert [p.module for p in diff.plugins.removed] == ["old"]
    assert diff.plugins.changed[0].fields == ("installed",)
    assert not diff.empty


async def test_the_same_inventory_has_an_empty_diff() -> None:
    inv = Inventory(operators=(op("a", "a.v1"),), plugins=(plugin("argocd"),))
    assert (await diff_inventories(inv, inv)).empty
