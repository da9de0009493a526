"""The Kubernetes client and the inventory recording, against the simulated API server."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from actions.errors import ApiError, ApiForbidden, ApiUnreachable, KubeConfigError, ResourceNotServed
from actions.inventory import InventoryProgress, InventoryRequest, record_inventory
from actions.kube import KubeClient
from sandbox.kube import KubeApiServer
from tests.conftest import operatorview, pluginview


async def no_progress(_: InventoryProgress) -> None:
    return None


async def test_discovery_finds_the_acp_kinds_wherever_the_release_serves_them(tmp_path: Path) -> None:
    from sandbox.kube import DEFAULT_RESOURCES

    moved = {
        "operatorviews": dataclasses.replace(
            DEFAULT_RESOURCES["operatorviews"], group="operator.alauda.io", version="v1beta3"
        ),
        "modulepluginviews": dataclasses.replace(
            DEFAULT_RESOURCES["modulepluginviews"], group="cluster.alauda.io", version="v2"
        ),
    }
    server = KubeApiServer(
        [
            operatorview("rds-operator", api_version="operator.alauda.io/v1beta3"),
            pluginview("argocd", api_version="cluster.alauda.io/v2"),
        ],
        resources=moved,
    )
    await server.start()
    try:
        kube = KubeClient.from_config(str(server.write_kubeconfig(tmp_path / "kc")))
        found = await kube.discover(["operatorviews", "modulepluginviews"])
        inventory = await record_inventory(kube, InventoryRequest(), no_progress)
    finally:
        await server.stop()
    assert found["operatorviews"].group_version == "operator.alauda.io/v1beta3"
    assert found["modulepluginviews"].group_version == "cluster.alauda.io/v2"
    assert [o.name for o in inventory.operators] == ["rds-operator"]
    assert [p.module for p in inventory.plugins] == ["argocd"]
    assert inventory.sources["operatorviews"] == "operator.alauda.io/v1beta3"


async def test_every_page_is_read_following_continue_tokens(
    kube_api: KubeApiServer, kubeconfig: Path
) -> None:
    kube_api.load(operatorview(f"op-{i:04d}", cluster=f"c{i % 7}") for i in range(1234))
    kube_api.load(pluginview(f"plugin-{i:03d}") for i in range(12))
    seen: list[InventoryProgress] = []

    async def progress(p: InventoryProgress) -> None:
        seen.append(p)

    kube = KubeClient.from_config(str(kubeconfig))
    inventory = await record_inventory(kube, InventoryRequest(page_size=500), progress)
    assert len(inventory.operators) == 1234
    assert len({(o.cluster, o.name) for o in inventory.operators}) == 1234
    lists = [path for method, path in kube_api.requests if "/operatorviews?" in path]
    assert len(lists) == 3
    assert all("limit=500" in p for p in lists)
    assert sum("continue=" in p for p in lists) == 2
    assert seen[-1].operators_seen == 1234 and seen[-1].plugins_seen == 12


async def test_rows_after_an_empty_channel_list_are_kept(kube_api: KubeApiServer, kubeconfig: Path) -> None:
    kube_api.load(
        [
            operatorview("a-operator"),
            operatorview("b-operator", channels=False),
            operatorview("c-operator"),
            operatorview("d-operator", phase="Pending"),
        ]
    )
    inventory = await record_inventory(
        KubeClient.from_config(str(kubeconfig)), InventoryRequest(), no_progress
    )
    assert [(o.name, o.display_name) for o in inventory.operators] == [
        ("a-operator", "Display"),
        ("b-operator", None),
        ("c-operator", "Display"),
    ]
    assert inventory.operators_not_installed == 1


async def test_core_and_unknown_lifecycles_are_left_out_but_counted(
    kube_api: KubeApiServer, kubeconfig: Path
) -> None:
    kube_api.load(
        [
            pluginview("agnostic-one"),
            pluginview("no-label", lifecycle=None),
            pluginview("empty-label", lifecycle=""),
            pluginview("aligned-one", lifecycle="aligned"),
            pluginview("core-one", lifecycle="core"),
            pluginview("odd-one", lifecycle="experimental"),
        ]
    )
    inventory = await record_inventory(
        KubeClient.from_config(str(kubeconfig)), InventoryRequest(), no_progress
    )
    assert sorted(p.module or "" for p in inventory.plugins) == [
        "agnostic-one",
        "aligned-one",
        "empty-label",
        "no-label",
    ]
    assert dict(inventory.plugins_left_out) == {"core": 1, "experimental": 1}


async def test_forbidden_list_is_an_api_forbidden_error_naming_the_path(
    kube_api: KubeApiServer, kubeconfig: Path
) -> None:
    kube_api.fail("/apis/app.alauda.io/v1alpha1/operatorviews", 403, reason="Forbidden")
    with pytest.raises(ApiForbidden, match=r"operatorviews.*403"):
        await record_inventory(KubeClient.from_config(str(kubeconfig)), InventoryRequest(), no_progress)


async def test_a_cut_answer_is_an_error_not_a_short_inventory(
    kube_api: KubeApiServer, kubeconfig: Path
) -> None:
    kube_api.load(operatorview(f"op-{i:03d}") for i in range(50))
    kube_api.cut_after("/apis/app.alauda.io/v1alpha1/operatorviews", 2000)
    with pytest.raises(ApiError):
        await record_inventory(KubeClient.from_config(str(kubeconfig)), InventoryRequest(), no_progress)


async def test_a_server_without_the_acp_kinds_is_named_in_the_error(tmp_path: Path) -> None:
    from sandbox.kube import DEFAULT_RESOURCES

    core_only = {
        k: v for k, v in DEFAULT_RESOURCES.items() if k not in ("operatorviews", "modulepluginviews")
    }
    server = KubeApiServer(resources=core_only)
    await server.start()
    try:
        kube = KubeClient.from_config(str(server.write_kubeconfig(tmp_path / "kc")))
        with pytest.raises(ResourceNotServed, match=r"modulepluginviews, operatorviews"):
            await kube.discover(["operatorviews", "modulepluginviews"])
    finally:
        await server.stop()


async def test_an_unreachable_server_is_reported_as_such(kube_api: KubeApiServer, kubeconfig: Path) -> None:
    kube = KubeClient.from_config(str(kubeconfig))
    await kube_api.stop()
    with pytest.raises(ApiUnreachable, match="Cannot reach the Kubernetes API"):
        await kube.discover(["operatorviews"])


def test_a_missing_kubeconfig_says_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(KubeConfigError, match="Set KUBECONFIG"):
        KubeClient.from_config(str(tmp_path / "nope"))
