"""Vendor package names, and whether they cover the inventory."""

from __future__ import annotations

import pytest

from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from actions.packages import Package, coverage, csv_version, parse_package


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("sriov-network-plugin.amd64.v4.3.7.tgz", ("sriov-network-plugin", "amd64", "v4.3.7")),
        ("langflow.ALL.v1.6.4-1.tgz", ("langflow", "ALL", "v1.6.4-1")),
        (
            "envoy-gateway-operator.arm64.v1.5.0-build.20251226181113.tgz",
            ("envoy-gateway-operator", "arm64", "v1.5.0-build.20251226181113"),
        ),
        ("some.dotted.name.amd64.v1.0.tgz", ("some.dotted.name", "amd64", "v1.0")),
    ],
)
def test_package_names_are_read_as_violet_reads_them(file: str, expected: tuple[str, str, str]) -> None:
    assert parse_package(file) == Package(file, *expected)


@pytest.mark.parametrize("file", ["README.md", "noarch.tgz", "plugin-v1.0.tgz", "x.amd64.latest.tgz"])
def test_names_that_do_not_follow_the_pattern_are_not_packages(file: str) -> None:
    assert parse_package(file) is None


def test_an_installed_csv_splits_into_name_and_version() -> None:
    assert csv_version("clickhouse-operator.v4.2.0") == ("clickhouse-operator", "v4.2.0")
    assert csv_version("envoy-gateway-operator.v1.5.0-build.1") == (
        "envoy-gateway-operator",
        "v1.5.0-build.1",
    )
    assert csv_version(None) is None


def test_every_installed_item_needs_its_package_at_its_version() -> None:
    inventory = Inventory(
        operators=(
            OperatorRow(
                "global",
                "clickhouse-operator",
                "Installed",
                "clickhouse-operator",
                "clickhouse-operator.v4.2.0",
                None,
            ),
            OperatorRow("global", "rds-operator", "Installed", "rds-operator", "rds-operator.v4.2.2", None),
            OperatorRow("global", "tekton", "Installed", "tektoncd-operator", None, None),
        ),
        plugins=(
            PluginRow("capi-provider-aws", "agnostic", (Installation("global", "v4.0.10"),), None),
            PluginRow(
                "volcano", "aligned", (Installation("global", "v4.2.3"), Installation("b-1", "v4.2.2")), None
            ),
            PluginRow("argocd", "agnostic", (), None),  # installed nowhere: needs nothing
        ),
    )
    files = [
        "clickhouse-operator.amd64.v4.2.0.tgz",
        "rds-operator.amd64.v4.2.1.tgz",  # the wrong version
        "capi-provider-aws.ALL.v4.0.10.tgz",
        "volcano.amd64.v4.2.3.tgz",
        "broken-name.tgz",
    ]
    result = coverage(inventory, files)
    assert not result.complete
    assert result.unparsed == ("broken-name.tgz",)
    assert [(u.kind, u.what, u.wanted) for u in result.uncovered] == [
        ("operator", "global/rds-operator", "rds-operator v4.2.2"),
        ("operator", "global/tekton", "no installed CSV recorded, so no version to match"),
        ("plugin", "volcano on b-1", "volcano v4.2.2"),
    ]


def test_a_full_set_of_packages_covers_the_inventory() -> None:
    inventory = Inventory(
        operators=(OperatorRow("g", "a", "Installed", "a", "a.v1.0.0", None),),
        plugins=(PluginRow("p", "agnostic", (Installation("g", "v2"),), None),),
    )
    assert coverage(inventory, ["a.arm64.v1.0.0.tgz", "p.ALL.v2.tgz"]).complete
