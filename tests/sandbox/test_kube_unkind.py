"""The simulated API server under strain: an aggregated API that is down, a stale group, throttling."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from sandbox.kube import DEFAULT_RESOURCES, KubeApiServer, merge_resources
from sandbox.kube.fixtures import load_fixture
from sandbox.kube.unkind import METRICS_API

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


async def fetch(http: aiohttp.ClientSession, server: KubeApiServer, path: str) -> tuple[int, Any, str]:
    """Status, headers and body text."""
    async with http.get(server.url + path) as resp:
        return resp.status, resp.headers, await resp.text()


def group(doc: dict[str, Any], name: str) -> dict[str, Any] | None:
    return next((g for g in doc["groups"] if g["name"] == name), None)


async def test_an_aggregated_api_that_is_down_is_listed_and_answers_503_like_the_aggregator(
    sample, http
) -> None:
    status, _, _ = await fetch(http, sample, "/apis/metrics.k8s.io/v1beta1")
    assert status == 404, "not served until switched on"
    sample.unavailable_api(METRICS_API)

    async with http.get(sample.url + "/apis") as resp:
        metrics = group(await resp.json(), "metrics.k8s.io")
    assert metrics == {
        "name": "metrics.k8s.io",
        "versions": [{"groupVersion": METRICS_API, "version": "v1beta1"}],
        "preferredVersion": {"groupVersion": METRICS_API, "version": "v1beta1"},
    }
    for path in ("/apis/metrics.k8s.io/v1beta1", "/apis/metrics.k8s.io/v1beta1/nodes"):
        status, headers, body = await fetch(http, sample, path)
        # kube-aggregator's proxyError: Go's http.Error, plain text, no Status object.
        assert (status, body) == (503, "service unavailable\n")
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert headers["X-Content-Type-Options"] == "nosniff"
    status, _, _ = await fetch(http, sample, "/apis/metrics.k8s.io.evil/v1beta1")
    assert status == 404, "only the APIService's own paths"

    sample.restore_api(METRICS_API)
    async with http.get(sample.url + "/apis") as resp:
        assert group(await resp.json(), "metrics.k8s.io") is None
    status, _, _ = await fetch(http, sample, "/apis/metrics.k8s.io/v1beta1")
    assert status == 404


async def test_an_unavailable_api_can_answer_with_a_status_object(sample, http) -> None:
    sample.unavailable_api(METRICS_API, status=True)
    async with http.get(sample.url + "/apis/metrics.k8s.io/v1beta1/pods") as resp:
        assert resp.status == 503
        body = await resp.json()
    assert body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "the server is currently unable to handle the request",
        "reason": "ServiceUnavailable",
        "code": 503,
    }


async def test_a_stale_version_joins_the_group_that_serves_the_views_from_another(http) -> None:
    moved = merge_resources(
        {"modulepluginviews": dataclasses.replace(DEFAULT_RESOURCES["modulepluginviews"], version="v1beta1")}
    )
    server = KubeApiServer(resources=moved)
    await server.start()
    try:
        server.unavailable_api("app.alauda.io/v1alpha2")
        async with http.get(server.url + "/apis") as resp:
            alauda = group(await resp.json(), "app.alauda.io")
        assert alauda is not None
        assert [v["version"] for v in alauda["versions"]] == ["v1beta1", "v1alpha2", "v1alpha1"]
        assert alauda["preferredVersion"]["version"] == "v1beta1"
        status, _, _ = await fetch(http, server, "/apis/app.alauda.io/v1alpha2")
        assert status == 503
        status, _, _ = await fetch(http, server, "/apis/app.alauda.io/v1beta1/modulepluginviews")
        assert status == 200
    finally:
        await server.stop()


async def test_throttling_answers_the_first_requests_429_with_retry_after_as_apf_does(sample, http) -> None:
    sample.throttle(2, retry_after=3)
    for _ in range(2):
        status, headers, body = await fetch(http, sample, "/api/v1/nodes")
        assert (status, headers["Retry-After"], body) == (
            429,
            "3",
            "Too many requests, please try again later.\n",
        )
        assert headers["Content-Type"] == "text/plain; charset=utf-8"
        assert headers["X-Kubernetes-PF-FlowSchema-UID"] and headers["X-Kubernetes-PF-PriorityLevel-UID"]
    status, headers, _ = await fetch(http, sample, "/api/v1/nodes")
    assert status == 200 and "Retry-After" not in headers


async def test_throttling_by_path_prefix_leaves_other_paths_alone(sample, http) -> None:
    sample.throttle(1, retry_after=0, path_prefix=OPERATORVIEWS, status=True)
    status, _, _ = await fetch(http, sample, "/api/v1/nodes")
    assert status == 200
    async with http.get(sample.url + OPERATORVIEWS + "?limit=500") as resp:
        assert (resp.status, resp.headers["Retry-After"]) == (429, "0")
        body = await resp.json()
    assert body["kind"] == "Status" and body["reason"] == "TooManyRequests" and body["code"] == 429
    assert body["details"] == {"retryAfterSeconds": 0}
    status, _, _ = await fetch(http, sample, OPERATORVIEWS)
    assert status == 200


async def test_throttling_comes_before_an_injected_failure(sample, http) -> None:
    sample.fail("/api/v1/nodes", 500, times=1)
    sample.throttle(1)
    statuses = [(await fetch(http, sample, "/api/v1/nodes"))[0] for _ in range(3)]
    assert statuses == [429, 500, 200]
