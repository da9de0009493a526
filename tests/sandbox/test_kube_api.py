"""The simulated Kubernetes API server, checked at the wire and through the real Python client."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from sandbox.kube import DEFAULT_RESOURCES, KubeApiServer, merge_resources
from sandbox.kube.fixtures import (
    generate_fixture,
    installed_operators,
    listed_plugins,
    load_fixture,
    without_empty_channels,
)
from tests.present import present

OPERATORVIEWS = "/apis/app.alauda.io/v1alpha1/operatorviews"


@pytest.fixture
async def sample() -> AsyncIterator[KubeApiServer]:
    fixture = load_fixture()
    server = KubeApiServer(fixture.objects, fixture.resources)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def get(http: aiohttp.ClientSession, server: KubeApiServer, path: str) -> tuple[int, Any]:
    async with http.get(server.url + path) as resp:
        return resp.status, await resp.json()


def names(items: list[dict[str, Any]]) -> list[str]:
    return [i["metadata"]["name"] for i in items]


# --- discovery ------------------------------------------------------------------------------------


async def test_core_discovery_has_the_shapes_kubectl_reads(sample, http) -> None:
    status, versions = await get(http, sample, "/api")
    assert status == 200 and versions["kind"] == "APIVersions" and versions["versions"] == ["v1"]
    status, core = await get(http, sample, "/api/v1")
    assert (core["kind"], core["groupVersion"]) == ("APIResourceList", "v1")
    by_name = {r["name"]: r for r in core["resources"]}
    assert by_name["pods"]["namespaced"] is True and by_name["pods"]["kind"] == "Pod"
    assert by_name["pods"]["singularName"] == "pod" and "po" in by_name["pods"]["shortNames"]
    assert "delete" in by_name["pods"]["verbs"] and "list" in by_name["nodes"]["verbs"]
    assert by_name["nodes"]["namespaced"] is False and by_name["namespaces"]["namespaced"] is False
    assert by_name["pods/exec"]["kind"] == "PodExecOptions"
    status, version = await get(http, sample, "/version")
    assert version["major"] == "1" and version["gitVersion"].startswith("v1.")


async def test_apis_lists_each_group_with_its_versions_and_preferred_version(sample, http) -> None:
    _, groups = await get(http, sample, "/apis")
    assert groups["kind"] == "APIGroupList"
    by_name = {g["name"]: g for g in groups["groups"]}
    assert "" not in by_name and {"apps", "example.alauda.io", "operators.coreos.com"} <= by_name.keys()
    acp = by_name["app.alauda.io"]
    assert [v["groupVersion"] for v in acp["versions"]] == [
        "app.alauda.io/v1alpha2",
        "app.alauda.io/v1alpha1",
    ]
    assert acp["preferredVersion"] == {"groupVersion": "app.alauda.io/v1alpha2", "version": "v1alpha2"}
    _, v1alpha1 = await get(http, sample, "/apis/app.alauda.io/v1alpha1")
    _, v1alpha2 = await get(http, sample, "/apis/app.alauda.io/v1alpha2")
    assert [(r["name"], r["namespaced"]) for r in v1alpha1["resources"]] == [("operatorviews", True)]
    assert [(r["name"], r["namespaced"]) for r in v1alpha2["resources"]] == [("modulepluginviews", False)]
    assert v1alpha2["resources"][0]["kind"] == "ModulePluginView"


async def test_resources_override_moves_operatorviews_to_another_group_version(http) -> None:
    moved = dataclasses.replace(
        DEFAULT_RESOURCES["operatorviews"], group="operator.alauda.io", version="v1beta1"
    )
    fixture = load_fixture()
    server = KubeApiServer(fixture.objects, merge_resources({"operatorviews": moved}))
    await server.start()
    try:
        status, views = await get(http, server, "/apis/operator.alauda.io/v1beta1/operatorviews")
        assert status == 200 and len(views["items"]) == len(fixture.of_kind("OperatorView"))
        assert {i["apiVersion"] for i in views["items"]} == {"operator.alauda.io/v1beta1"}
        status, gone = await get(http, server, OPERATORVIEWS)
        assert status == 404 and gone["kind"] == "Status"
    finally:
        await server.stop()


async def test_given_resources_replace_the_defaults(http) -> None:
    only = {"modulepluginviews": DEFAULT_RESOURCES["modulepluginviews"]}
    server = KubeApiServer([], only)
    await server.start()
    try:
        _, groups = await get(http, server, "/apis")
        assert [(g["name"], len(g["versions"])) for g in groups["groups"]] == [("app.alauda.io", 1)]
        assert (await get(http, server, "/api"))[1]["versions"] == []
        assert (await get(http, server, "/api/v1/pods"))[0] == 404
    finally:
        await server.stop()
    with pytest.raises(ValueError, match="no served resource has kind 'Pod'"):
        KubeApiServer([{"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}], only)


async def test_unknown_paths_and_missing_objects_answer_404_status(sample, http) -> None:
    status, body = await get(http, sample, "/apis/app.alauda.io/v1alpha1/nosuchthings")
    assert status == 404 and (body["kind"], body["reason"], body["code"]) == ("Status", "NotFound", 404)
    status, body = await get(http, sample, "/api/v1/namespaces/global/nodes")
    assert status == 404
    status, body = await get(http, sample, "/api/v1/namespaces/kube-system/pods/nope")
    assert status == 404 and body["message"] == 'pods "nope" not found'
    assert body["details"] == {"name": "nope", "kind": "pods"}


# --- list, get, paging ----------------------------------------------------------------------------


async def test_objects_are_complete_and_lists_carry_kind_and_api_version(sample, http) -> None:
    _, pods = await get(http, sample, "/api/v1/namespaces/kube-system/pods")
    assert pods["kind"] == "PodList" and pods["metadata"]["resourceVersion"].isdigit()
    minio = next(p for p in pods["items"] if p["metadata"]["name"] == "minio-0")
    assert (minio["apiVersion"], minio["kind"]) == ("v1", "Pod")
    assert {"uid", "creationTimestamp", "resourceVersion"} <= minio["metadata"].keys()
    (container,) = minio["status"]["containerStatuses"]
    assert container["image"] == minio["spec"]["containers"][0]["image"]
    assert container["imageID"].startswith("127.0.0.1:11440/3rdparty/minio@sha256:")
    assert (container["ready"], container["started"], container["restartCount"]) == (True, True, 0)
    status, node = await get(http, sample, "/api/v1/nodes/acp-global-m1")
    assert status == 200 and node["kind"] == "Node"
    assert {"type": "InternalIP", "address": "127.0.0.11"} in node["status"]["addresses"]


async def test_list_is_sorted_by_namespace_then_name_and_filtered_by_namespace(sample, http) -> None:
    _, every = await get(http, sample, OPERATORVIEWS)
    keys = [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in every["items"]]
    assert keys == sorted(keys) and keys[0].startswith("business-1/")
    _, scoped = await get(http, sample, "/apis/app.alauda.io/v1alpha1/namespaces/business-2/operatorviews")
    assert {i["metadata"]["namespace"] for i in scoped["items"]} == {"business-2"}
    assert len(scoped["items"]) == sum(1 for k in keys if k.startswith("business-2/"))


async def test_paging_with_limit_500_returns_every_object_exactly_once(http) -> None:
    fixture = generate_fixture(operators=1234, clusters=7, plugins=0)
    server = KubeApiServer(fixture.objects, fixture.resources)
    await server.start()
    try:
        seen: list[tuple[str, str]] = []
        pages, token, versions = [], "", set()
        while True:
            query = f"?limit=500&continue={token}" if token else "?limit=500"
            status, page = await get(http, server, OPERATORVIEWS + query)
            assert status == 200
            pages.append(page)
            versions.add(page["metadata"]["resourceVersion"])
            seen += [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in page["items"]]
            token = page["metadata"].get("continue", "")
            if not token:
                break
        assert [len(p["items"]) for p in pages] == [500, 500, 234]
        assert pages[0]["metadata"]["remainingItemCount"] == 734
        assert len(versions) == 1
        expected = {
            (o["metadata"]["namespace"], o["metadata"]["name"]) for o in fixture.of_kind("OperatorView")
        }
        assert len(seen) == len(set(seen)) == 1234 and set(seen) == expected
        continued = [parse_qs(urlsplit(p).query) for m, p in server.requests if "continue=" in p]
        assert len(continued) == 2 and all(q["limit"] == ["500"] for q in continued)
    finally:
        await server.stop()


async def test_continue_token_goes_stale_with_410_expired_when_the_resource_changes(sample, http) -> None:
    _, first = await get(http, sample, OPERATORVIEWS + "?limit=5")
    token = first["metadata"]["continue"]
    sample.add(
        {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": "x", "namespace": "default"},
            "spec": {"containers": [{"name": "x", "image": "busybox"}]},
        }
    )
    status, _ = await get(http, sample, f"{OPERATORVIEWS}?limit=5&continue={token}")
    assert status == 200, "a change to pods must not expire a list of operatorviews"
    sample.add({"kind": "OperatorView", "metadata": {"name": "late-operator", "namespace": "global"}})
    status, body = await get(http, sample, f"{OPERATORVIEWS}?limit=5&continue={token}")
    assert status == 410 and (body["kind"], body["reason"], body["code"]) == ("Status", "Expired", 410)
    assert body["metadata"]["continue"], "a real server offers a token to continue inconsistently"


async def test_malformed_continue_token_is_400_bad_request(sample, http) -> None:
    status, body = await get(http, sample, f"{OPERATORVIEWS}?limit=5&continue=not-a-token")
    assert status == 400 and body["reason"] == "BadRequest" and "invalid continue token" in body["message"]


async def test_changed_object_is_served_fresh_after_it_was_cached(sample, http) -> None:
    _, before = await get(http, sample, "/api/v1/namespaces/kube-system/pods/minio-0")
    sample.add({**before, "metadata": {**before["metadata"], "labels": {"app": "minio", "tier": "storage"}}})
    _, after = await get(http, sample, "/api/v1/namespaces/kube-system/pods/minio-0")
    assert after["metadata"]["labels"]["tier"] == "storage"
    assert after["metadata"]["uid"] == before["metadata"]["uid"]
    assert int(after["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (
            "app=registry",
            {
                "registry-6f9c8d7b5-2xk8q",
                "registry-6f9c8d7b5-h4t9m",
                "registry-6f9c8d7b5-zr7wc",
                "registry-gc-29153280-q8v2d",
            },
        ),
        (
            "app==registry,component=registry",
            {"registry-6f9c8d7b5-2xk8q", "registry-6f9c8d7b5-h4t9m", "registry-6f9c8d7b5-zr7wc"},
        ),
        ("app=registry,component!=registry", {"registry-gc-29153280-q8v2d"}),
        ("component in (etcd, kube-apiserver)", {"etcd-acp-global-m1", "kube-apiserver-acp-global-m1"}),
        ("tier,app notin (registry,minio)", {"etcd-acp-global-m1", "kube-apiserver-acp-global-m1"}),
        ("!app,!component", {"coredns-7db6d8ff4d-5kq2n"}),
        ("statefulset.kubernetes.io/pod-name", {"minio-0", "minio-1", "minio-2"}),
        ("app=nothing-here", set()),
    ],
)
async def test_label_selector_matches_like_the_api_server(
    sample, http, selector: str, expected: set[str]
) -> None:
    async with http.get(
        f"{sample.url}/api/v1/namespaces/kube-system/pods", params={"labelSelector": selector}
    ) as r:
        assert r.status == 200
        assert set(names((await r.json())["items"])) == expected


async def test_malformed_label_selector_and_unsupported_field_are_400(sample, http) -> None:
    for params in ({"labelSelector": "app in (registry"}, {"fieldSelector": "spec.image=x"}):
        async with http.get(f"{sample.url}/api/v1/pods", params=params) as r:
            assert r.status == 400 and (await r.json())["reason"] == "BadRequest"
    async with http.get(
        f"{sample.url}/api/v1/pods", params={"fieldSelector": "spec.nodeName=acp-global-m3"}
    ) as r:
        assert set(names((await r.json())["items"])) == {"minio-2", "registry-6f9c8d7b5-zr7wc"}


# --- faults ---------------------------------------------------------------------------------------


async def test_injected_failure_answers_a_status_the_given_number_of_times(sample, http) -> None:
    sample.fail("/apis/app.alauda.io/", 403, times=1)
    status, body = await get(http, sample, OPERATORVIEWS)
    assert status == 403 and (body["kind"], body["reason"], body["code"]) == ("Status", "Forbidden", 403)
    status, _ = await get(http, sample, OPERATORVIEWS)
    assert status == 200
    sample.fail("/api/v1/nodes", 500)
    sample.fail("/api/v1/pods", 410, reason="Gone", message="too old")
    assert (await get(http, sample, "/api/v1/nodes"))[1]["reason"] == "InternalError"
    assert (await get(http, sample, "/api/v1/nodes"))[0] == 500, "without times it keeps failing"
    status, body = await get(http, sample, "/api/v1/pods")
    assert (status, body["reason"], body["message"]) == (410, "Gone", "too old")
    assert ("GET", "/api/v1/nodes") in sample.requests


async def test_cut_response_drops_the_connection_after_n_bytes(sample, http) -> None:
    sample.cut_after("/api/v1/pods", 100, times=1)
    async with http.get(f"{sample.url}/api/v1/pods") as resp:
        assert resp.status == 200 and int(resp.headers["Content-Length"]) > 100
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    status, pods = await get(http, sample, "/api/v1/pods")
    assert status == 200 and len(pods["items"]) > 5


async def test_latency_delays_every_response(sample, http) -> None:
    sample.set_latency(0.3)
    started = time.monotonic()
    await get(http, sample, "/version")
    assert time.monotonic() - started >= 0.3


# --- the real Python client -----------------------------------------------------------------------


def python_client(server: KubeApiServer, tmp_path: Path) -> k8s.ApiClient:
    return k8s_config.new_client_from_config(str(server.write_kubeconfig(tmp_path / "kubeconfig")))


async def test_python_client_lists_nodes_and_pods(sample, tmp_path) -> None:
    core = k8s.CoreV1Api(python_client(sample, tmp_path))
    nodes = await asyncio.to_thread(core.list_node)
    ips = {
        present(n.metadata).name: [
            a.address for a in present(present(n.status).addresses) if a.type == "InternalIP"
        ]
        for n in nodes.items
    }
    assert ips["acp-global-m1"] == ["127.0.0.11"] and ips["acp-global-m3"] == ["127.0.0.13"]
    pods = await asyncio.to_thread(core.list_pod_for_all_namespaces)
    assert len(pods.items) == len(sample.objects("pods"))
    statuses = [s for p in pods.items for s in present(present(p.status).container_statuses)]
    assert all(s.image_id and s.restart_count == 0 for s in statuses)
    page = await asyncio.to_thread(core.list_pod_for_all_namespaces, limit=4)
    assert len(page.items) == 4 and present(page.metadata)._continue


async def test_deleting_a_pod_returns_the_pod_and_calls_the_hook(sample, tmp_path) -> None:
    deleted: list[dict[str, Any]] = []

    async def hook(pod: dict[str, Any]) -> None:
        deleted.append(pod)

    sample.on_pod_deleted = hook
    core = k8s.CoreV1Api(python_client(sample, tmp_path))
    pod = await asyncio.to_thread(core.delete_namespaced_pod, "registry-6f9c8d7b5-h4t9m", "kube-system")
    assert isinstance(pod, k8s.V1Pod) and present(pod.metadata).name == "registry-6f9c8d7b5-h4t9m"
    assert present(pod.metadata).deletion_timestamp is not None
    assert [p["metadata"]["name"] for p in deleted] == ["registry-6f9c8d7b5-h4t9m"]
    assert sample.get("pods", "kube-system", "registry-6f9c8d7b5-h4t9m") is None
    with pytest.raises(k8s.ApiException) as missing:
        await asyncio.to_thread(core.delete_namespaced_pod, "registry-6f9c8d7b5-h4t9m", "kube-system")
    assert missing.value.status == 404


async def test_views_refuse_delete_as_their_verbs_say(sample, http) -> None:
    async with http.delete(
        f"{sample.url}/apis/app.alauda.io/v1alpha1/namespaces/global/operatorviews/rds-operator"
    ) as r:
        assert r.status == 405 and (await r.json())["reason"] == "MethodNotAllowed"
    assert sample.get("operatorviews", "global", "rds-operator") is not None


# --- fixtures -------------------------------------------------------------------------------------


def test_sample_fixture_holds_the_runbook_examples_and_edge_cases() -> None:
    fixture = load_fixture()
    ops = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in fixture.of_kind("OperatorView")}
    assert {
        ("global", "clickhouse-operator"),
        ("global", "envoy-gateway-operator"),
        ("global", "rds-operator"),
    } <= ops
    assert {ns for ns, _ in ops} == {"global", "business-1", "business-2"}
    plugins = {o["metadata"]["name"] for o in listed_plugins(fixture)}
    assert {"capi-provider-aws", "argo-rollouts", "velero", "metallb", "hami", "kubevirt"} <= plugins
    assert not {"cert-manager", "prometheus"} & plugins
    masters = [
        n
        for n in fixture.of_kind("Node")
        if {"node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master"}
        & n["metadata"]["labels"].keys()
    ]
    assert len(masters) == 3


def test_without_empty_channels_drops_only_the_operator_kubectl_cannot_print() -> None:
    fixture = load_fixture()
    trimmed = without_empty_channels(fixture)
    dropped = [o for o in fixture.objects if o not in trimmed.objects]
    assert [(o["kind"], o["metadata"]["name"]) for o in dropped] == [("OperatorView", "mongodb-operator")]


def test_registry_option_points_sample_images_at_another_registry() -> None:
    fixture = load_fixture(registry="127.0.0.1:5999")
    images = {c["image"] for p in fixture.of_kind("Pod") for c in p["spec"]["containers"]}
    assert "127.0.0.1:5999/3rdparty/minio:RELEASE.2024-06-13T22-53-53Z" in images
    assert "docker.io/library/nginx:1.27.4" in images and not any("11440" in i for i in images)


def test_generated_fixture_has_the_requested_counts_and_is_reproducible() -> None:
    fixture = generate_fixture(operators=1200, clusters=40, plugins=300, seed=7)
    ops = fixture.of_kind("OperatorView")
    assert len(ops) == 1200 and len({o["metadata"]["namespace"] for o in ops}) == 40
    assert len({(o["metadata"]["namespace"], o["metadata"]["name"]) for o in ops}) == 1200
    assert len({o["metadata"]["name"] for o in fixture.of_kind("ModulePluginView")}) == 300
    assert 0.8 < len(installed_operators(fixture)) / 1200 < 1
    assert without_empty_channels(fixture) == fixture
    assert generate_fixture(operators=1200, clusters=40, plugins=300, seed=7) == fixture
    assert generate_fixture(operators=1200, clusters=40, plugins=300, seed=8) != fixture
    lengths = {len(o["metadata"]["name"]) for o in ops}
    assert max(lengths) - min(lengths) > 20
