"""Whether the packages cover the inventory, by what `violet show` shows; and which tags are custom."""

from __future__ import annotations

from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from actions.packages import coverage, csv_version, custom_tags, image_path, plain_version, restored_by_core
from actions.violet_output import Shown

REG = "build-harbor.alauda.cn"


def bundle(file: str, artifact: str, version: str, *related: str, name: str = "Display") -> Shown:
    return Shown(file, name, "bundle", version, f"{REG}/{artifact}", tuple(f"{REG}/{r}" for r in related))


def plugin(file: str, module: str, version: str, *related: str) -> Shown:
    return Shown(
        file, module.title(), "moduleplugin", version, f"{REG}/acp/chart-{module}:{version}", tuple(related)
    )


INVENTORY = Inventory(
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


def test_an_installed_csv_splits_into_name_and_version() -> None:
    assert csv_version("clickhouse-operator.v4.2.0") == ("clickhouse-operator", "v4.2.0")
    assert csv_version("envoy-gateway-operator.v1.5.0-build.1") == (
        "envoy-gateway-operator",
        "v1.5.0-build.1",
    )
    assert csv_version(None) is None
    assert plain_version("v4.2.0") == plain_version("4.2.0") == "4.2.0"
    assert plain_version("version-2") == "version-2"


def test_image_paths_lose_their_registry_host_but_not_their_namespace() -> None:
    assert image_path("harbor.demo.io/acp/topolvm:v3.11.0") == ("acp/topolvm", "v3.11.0")
    assert image_path("127.0.0.1:5000/3rdparty/k8scsi/csi-provisioner:v3.00") == (
        "3rdparty/k8scsi/csi-provisioner",
        "v3.00",
    )
    assert image_path("acp/core:latest") == ("acp/core", "latest")
    assert image_path("localhost/x/y@sha256:ab") == ("x/y", "")


def test_packages_are_matched_by_artifact_and_version_whatever_their_file_is_called() -> None:
    shown = [
        # NAME.vX, display name unlike anything else, Version without the CSV's `v`
        bundle(
            "clickhouse-operator.v4.2.0.tgz",
            "acp/clickhouse-operator-bundle:v9.9.9",
            "4.2.0",
            name="ClickHouse",
        ),
        bundle("rds.tgz", "acp/rds-operator-bundle:v4.2.1", "4.2.1"),  # the wrong version
        plugin("plugins-capi-aws-v4-hybrid.tgz", "capi-provider-aws", "v4.0.10"),
        plugin("volcano-v4.2.3.tgz", "volcano", "4.2.3"),  # Version without `v` still matches v4.2.3
    ]
    result = coverage(INVENTORY, shown)
    assert not result.complete and result.unshowable == ()
    assert [(u.kind, u.what, u.wanted) for u in result.uncovered] == [
        ("operator", "global/rds-operator", "rds-operator v4.2.2"),
        ("operator", "global/tekton", "no installed CSV recorded, so no version to match"),
        ("plugin", "volcano on b-1", "volcano v4.2.2"),
    ]


def test_a_file_named_like_the_operator_covers_nothing_when_violet_shows_something_else() -> None:
    inventory = Inventory(operators=(INVENTORY.operators[0],), plugins=())
    named_right = bundle("clickhouse-operator.amd64.v4.2.0.tgz", "acp/kafka-operator-bundle:v4.2.0", "4.2.0")
    assert [u.what for u in coverage(inventory, [named_right]).uncovered] == ["global/clickhouse-operator"]
    named_oddly = bundle("envoy-gateway-operator.tgz", "acp/clickhouse-operator:v1", "v4.2.0")
    assert coverage(inventory, [named_oddly]).complete


def test_a_package_violet_cannot_show_keeps_the_coverage_incomplete() -> None:
    inventory = Inventory(operators=(), plugins=())
    broken = Shown("cut.tgz", error="Error: invalid package cut.tgz: gzip: invalid header")
    result = coverage(inventory, [broken])
    assert result.uncovered == () and result.unshowable == (broken,) and not result.complete


def test_custom_tags_are_those_neither_the_platform_namespaces_nor_a_package_restore() -> None:
    shown = [
        bundle("kv.tgz", "acp/kubevirt-bundle:v1", "1.0", "kubevirt/virt-handler:v1.4.0"),
        Shown("broken.tgz", error="Error: nope"),
    ]
    repositories = {
        "acp/archon": ("v4.2.5", "v4.1.0"),  # the platform-namespace rule: upload.sh's
        "kubevirt/virt-handler": ("v1.4.0", "v1.3.0"),  # v1.4.0 is the package's, v1.3.0 nobody's
        "retail/shop": ("1.0",),
        "acpx/lookalike": ("1",),
    }
    assert custom_tags(repositories, shown, ("acp", "ait")) == (
        "acpx/lookalike:1",
        "kubevirt/virt-handler:v1.3.0",
        "retail/shop:1.0",
    )
    assert restored_by_core("3rdparty/k8scsi/csi", ["3rdparty/"]) and not restored_by_core(
        "retail/x", ["acp"]
    )
