"""The runbook's inventory rules, object by object."""

from __future__ import annotations

import json
from typing import Any

import pytest

from actions.inventory import Inventory, english_name, operator_row, plugin_row


def operatorview(name: str = "clickhouse-operator", **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "global"}, "status": status}


INSTALLED = {
    "phase": "Installed",
    "installation": {
        "artifactName": "clickhouse-operator",
        "subscription": {"installedCSV": "clickhouse-operator.v4.2.0"},
    },
}


def test_operator_row_takes_the_runbooks_columns() -> None:
    row = operator_row(
        operatorview(
            operatorStatus=INSTALLED,
            packageManifestStatus={"channels": [{"currentCSVDesc": {"displayName": "ClickHouse"}}, {}]},
        )
    )
    assert (row.cluster, row.name, row.phase) == ("global", "clickhouse-operator", "Installed")
    assert (row.artifact, row.installed_csv, row.display_name) == (
        "clickhouse-operator",
        "clickhouse-operator.v4.2.0",
        "ClickHouse",
    )


def test_operator_with_an_empty_channel_list_keeps_its_row_without_a_display_name() -> None:
    row = operator_row(operatorview(operatorStatus=INSTALLED, packageManifestStatus={"channels": []}))
    assert row.phase == "Installed"
    assert row.installed_csv == "clickhouse-operator.v4.2.0"
    assert row.display_name is None


@pytest.mark.parametrize(
    "status",
    [
        {"operatorStatus": INSTALLED},
        {"operatorStatus": INSTALLED, "packageManifestStatus": None},
        {"operatorStatus": INSTALLED, "packageManifestStatus": {"channels": "not-a-list"}},
        {"operatorStatus": INSTALLED, "packageManifestStatus": {"channels": [{"currentCSVDesc": None}]}},
    ],
)
def test_missing_or_malformed_display_paths_give_null_not_an_error(status: dict[str, Any]) -> None:
    assert operator_row(operatorview(**status)).display_name is None


def test_operator_waiting_for_approval_has_no_installed_csv() -> None:
    row = operator_row(
        operatorview(operatorStatus={"phase": "Installed", "installation": {"artifactName": "a"}})
    )
    assert row.installed_csv is None
    assert row.artifact == "a"


def plugin(
    labels: dict[str, str] | None = None, annotations: dict[str, str] | None = None, **status: Any
) -> dict:
    return {"metadata": {"name": "p", "labels": labels, "annotations": annotations}, "status": status}


@pytest.mark.parametrize(
    ("labels", "lifecycle"),
    [
        ({"cpaas.io/module-name": "argocd"}, "agnostic"),
        ({"cpaas.io/module-name": "argocd", "cpaas.io/lifecycle-type": ""}, "agnostic"),
        ({"cpaas.io/module-name": "argocd", "cpaas.io/lifecycle-type": "aligned"}, "aligned"),
        ({"cpaas.io/module-name": "argocd", "cpaas.io/lifecycle-type": "core"}, "core"),
        (None, "agnostic"),
    ],
)
def test_plugin_lifecycle_defaults_to_agnostic_when_missing_or_empty(
    labels: dict[str, str] | None, lifecycle: str
) -> None:
    assert plugin_row(plugin(labels)).lifecycle == lifecycle


def test_plugin_installed_lists_every_cluster_and_version() -> None:
    row = plugin_row(
        plugin(
            {"cpaas.io/module-name": "capi-provider-aws"},
            installed=[
                {"cluster": "global", "version": "v4.0.10"},
                {"cluster": "business-1", "version": "v4.0.9"},
            ],
        )
    )
    assert row.module == "capi-provider-aws"
    assert [(i.cluster, i.version) for i in row.installed] == [
        ("global", "v4.0.10"),
        ("business-1", "v4.0.9"),
    ]


@pytest.mark.parametrize(
    ("annotation", "name"),
    [
        (
            json.dumps({"en": "Alauda Container Platform GitOps", "zh": "GitOps"}),
            "Alauda Container Platform GitOps",
        ),
        ("Plain name, not JSON", "Plain name, not JSON"),
        (json.dumps({"zh": "只有中文"}), json.dumps({"zh": "只有中文"})),
        (None, None),
        ("", None),
    ],
)
def test_display_name_is_the_english_one_and_never_lost(annotation: str | None, name: str | None) -> None:
    assert english_name(annotation) == name


def test_inventory_json_has_exactly_the_documented_shape() -> None:
    inv = Inventory(
        operators=(operator_row(operatorview(operatorStatus=INSTALLED)),),
        plugins=(plugin_row(plugin({"cpaas.io/module-name": "argocd"}, installed=[{"cluster": "global"}])),),
    )
    doc = inv.as_dict()
    assert list(doc) == ["operators", "plugins"]
    assert list(doc["operators"][0]) == [
        "cluster",
        "name",
        "phase",
        "artifact",
        "installed_csv",
        "display_name",
    ]
    assert list(doc["plugins"][0]) == ["module", "lifecycle", "installed", "display_name"]
    assert doc["plugins"][0]["installed"] == [{"cluster": "global", "version": None}]
    assert doc["operators"][0]["display_name"] is None


def test_inventory_record_round_trips_through_the_store_format() -> None:
    inv = Inventory(
        operators=(operator_row(operatorview(operatorStatus=INSTALLED)),),
        plugins=(
            plugin_row(
                plugin({"cpaas.io/module-name": "argocd"}, installed=[{"cluster": "g", "version": "1"}])
            ),
        ),
        operators_not_installed=3,
        plugins_left_out={"core": 2},
        sources={"operatorviews": "app.alauda.io/v1alpha1"},
    )
    assert Inventory.from_record(json.loads(json.dumps({**inv.as_dict(), **inv.record_header()}))) == inv
