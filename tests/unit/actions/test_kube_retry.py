"""429 and 5xx are tried again, honouring Retry-After, within bounds: against the simulated API server.

Time is a fake: `sleep` records the waits instead of waiting, so no test waits for real.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from actions.errors import ApiForbidden
from actions.inventory import InventoryProgress, InventoryRequest, record_inventory
from actions.kube import KubeClient, RetryPolicy
from actions.kube_discovery import ApiResource, GroupUnavailable
from actions.kube_retry import ApiStatusError
from sandbox.kube import DEFAULT_RESOURCES, KubeApiServer, merge_resources
from tests.conftest import operatorview, pluginview

OPERATORVIEWS = "/apis/app.alauda.io/v1alpha1/operatorviews"
VIEWS = ApiResource("app.alauda.io", "v1alpha1", "operatorviews", "OperatorView", True)


class FakeSleep:
    """Records each wait; returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(kubeconfig: Path, sleep: FakeSleep, retry: RetryPolicy | None = None) -> KubeClient:
    return KubeClient.from_config(str(kubeconfig), retry=retry, sleep=sleep)


async def no_progress(_: InventoryProgress) -> None:
    return None


def hits(server: KubeApiServer, prefix: str) -> int:
    return sum(path.startswith(prefix) for _, path in server.requests)


async def test_a_throttled_discovery_waits_what_retry_after_says_and_goes_on(
    kube_api: KubeApiServer, kubeconfig: Path
) -> None:
    kube_api.throttle(2, retry_after=3, path_prefix="/apis")
    sleep = FakeSleep()
    found = await client(kubeconfig, sleep).discover(["operatorviews"])
    assert found["operatorviews"].group_version == "app.alauda.io/v1alpha1"
    assert sleep.waits == [3.0, 3.0]
    # Our loop did the retrying: urllib3's own Retry-After handling, which would sleep unseen
    # and unbounded in the worker thread, is off.
    assert hits(kube_api, "/apis") - hits(kube_api, "/apis/") == 3


async def test_every_page_of_a_list_is_retried_on_its_own(kube_api: KubeApiServer, kubeconfig: Path) -> None:
    kube_api.load(operatorview(f"op-{i:04d}") for i in range(1100))
    sleep = FakeSleep()
    pages: list[int] = []
    async for page in client(kubeconfig, sleep).list_pages(VIEWS, page_size=500):
        pages.append(len(page))
        kube_api.throttle(1, retry_after=1, path_prefix=OPERATORVIEWS, status=True)
    assert pages == [500, 500, 100]
    assert sleep.waits == [1.0, 1.0], "the second and the third page were each throttled once"
    continued = [p for _, p in kube_api.requests if p.startswith(OPERATORVIEWS) and "continue=" in p]
    assert len(continued) == 4, "each throttled page was asked again with its own continue token"


async def test_a_503_without_retry_after_backs_off_exponentially_then_names_the_tries(
    kube_api: KubeApiServer, kubeconfig: Path
) -> None:
    kube_api.unavailable_api("app.alauda.io/v1alpha1")
    sleep = FakeSleep()
    with pytest.raises(ApiStatusError) as caught:
        await client(kubeconfig, sleep, RetryPolicy(attempts=4)).get(OPERATORVIEWS)
    assert sleep.waits == [0.25, 0.5, 1.0]
    assert caught.value.status == 503
    assert str(caught.value) == (
        f"The Kubernetes API answered 503 Service Unavailable for {OPERATORVIEWS}: "
        "the server is currently unable to handle the request (4 tries over 1.75 s)."
    )


async def test_the_total_wait_is_bounded(kube_api: KubeApiServer, kubeconfig: Path) -> None:
    kube_api.throttle(100, retry_after=4)
    sleep = FakeSleep()
    with pytest.raises(ApiStatusError, match=r"429 Too Many Requests .*3 tries over 8 s"):
        await client(kubeconfig, sleep, RetryPolicy(attempts=20, budget=10.0)).get("/api/v1/nodes")
    assert sleep.waits == [4.0, 4.0], "a third wait would pass the 10 s budget"


async def test_a_long_retry_after_is_capped(kube_api: KubeApiServer, kubeconfig: Path) -> None:
    kube_api.throttle(1, retry_after=600)
    sleep = FakeSleep()
    await client(kubeconfig, sleep, RetryPolicy(budget=60.0)).get("/api/v1/nodes")
    assert sleep.waits == [10.0]


@pytest.mark.parametrize("status", [400, 410, 501])
async def test_answers_that_waiting_cannot_change_are_not_retried(
    kube_api: KubeApiServer, kubeconfig: Path, status: int
) -> None:
    kube_api.fail("/api/v1/nodes", status, times=1)
    sleep = FakeSleep()
    with pytest.raises(Exception, match=str(status)):
        await client(kubeconfig, sleep).get("/api/v1/nodes")
    assert sleep.waits == []


async def test_an_unrelated_api_that_is_down_is_skipped_and_named_in_the_inventory(
    kube_api: KubeApiServer, kubeconfig: Path
) -> None:
    kube_api.load([operatorview("rds-operator"), pluginview("argocd")])
    kube_api.unavailable_api("metrics.k8s.io/v1beta1")
    kube_api.fail("/apis/operators.coreos.com/v1alpha1", 403, reason="Forbidden")
    inventory = await record_inventory(
        client(kubeconfig, FakeSleep(), RetryPolicy(attempts=2)), InventoryRequest(), no_progress
    )
    assert [o.name for o in inventory.operators] == ["rds-operator"]
    assert [p.module for p in inventory.plugins] == ["argocd"]
    assert dict(inventory.skipped) == {
        "metrics.k8s.io/v1beta1": "503 Service Unavailable: the server is currently unable to handle the request",
        "operators.coreos.com/v1alpha1": (
            "The Kubernetes API forbade /apis/operators.coreos.com/v1alpha1: sandbox: injected failure "
            "(403) for /apis/operators.coreos.com/v1alpha1 (403). Grant regclean's account get/list on it."
        ),
    }


async def test_a_stale_group_serving_the_plugins_fails_the_inventory_and_is_named(
    kube_api: KubeApiServer, kubeconfig: Path
) -> None:
    kube_api.load([operatorview("rds-operator"), pluginview("argocd")])
    kube_api.unavailable_api("app.alauda.io/v1alpha2")
    kube_api.unavailable_api("metrics.k8s.io/v1beta1")
    with pytest.raises(GroupUnavailable) as caught:
        await record_inventory(client(kubeconfig, FakeSleep()), InventoryRequest(), no_progress)
    message = str(caught.value)
    assert message.startswith(
        "app.alauda.io/v1alpha2 answered 503 Service Unavailable: the server is currently unable to "
        "handle the request. modulepluginviews cannot be listed"
    )
    assert message.endswith("Also not answering: metrics.k8s.io/v1beta1.")


async def test_a_failing_apis_list_is_still_an_error(kube_api: KubeApiServer, kubeconfig: Path) -> None:
    kube_api.fail("/apis", 403, reason="Forbidden", times=1)
    with pytest.raises(ApiForbidden):
        await client(kubeconfig, FakeSleep()).discover(["operatorviews"])


async def test_a_stale_version_is_skipped_when_the_plugins_are_served_from_another(tmp_path: Path) -> None:
    moved = merge_resources(
        {"modulepluginviews": dataclasses.replace(DEFAULT_RESOURCES["modulepluginviews"], version="v1beta1")}
    )
    server = KubeApiServer([operatorview("rds-operator"), pluginview("argocd")], resources=moved)
    server.unavailable_api("app.alauda.io/v1alpha2")
    await server.start()
    try:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        sleep = FakeSleep()
        inventory = await record_inventory(client(kubeconfig, sleep), InventoryRequest(), no_progress)
    finally:
        await server.stop()
    assert [p.module for p in inventory.plugins] == ["argocd"]
    assert inventory.sources["modulepluginviews"] == "app.alauda.io/v1beta1"
    assert list(inventory.skipped) == ["app.alauda.io/v1alpha2"]
    assert sleep.waits == [0.25, 0.5, 1.0], "the stale version was tried as often as any 503"
