"""The registry's blob cache is really cleared after the purge: static (mirror) pods and a redis cache.

A new pod UID is no proof of a restart: the kubelet recreates a deleted mirror pod while its
container, and the cache in it, keeps running; a redis cache survives any restart. These run the
real docker-registry (and a real redis-server) behind the sandbox's pods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actions.errors import PodsNotReady
from actions.kube import KubeClient
from actions.minio import restart_registry
from actions.registry_clear import RegistryPods, plan_clearing
from bot.config.settings import Settings
from bot.steps.backup.plan import ssh_target
from sandbox.kube.fixtures import load_fixture
from sandbox.pods import REGISTRY_NAMESPACE, REGISTRY_SELECTOR
from sandbox.registry import S3Server
from sandbox.registry.redis import redis_binary
from sandbox.stack import Sandbox, running_bot
from sandbox.static_pods import as_static
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import approved_and_purged, ready_for_purge, restored_and_closed

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]
RESTART = "crictl stop $(crictl ps -q --name registry)"
NEEDS_REDIS = pytest.mark.skipif(
    redis_binary() is None, reason="redis-server is not installed (Debian package redis-server)"
)


@pytest.fixture
async def static_box(tmp_path: Path, sandbox_s3: S3Server) -> AsyncIterator[Sandbox]:
    """The sample platform with its registry run as static pods, one mirror pod per control-plane node."""
    box = Sandbox(tmp_path / "sandbox", as_static(load_fixture()), s3=sandbox_s3)
    await box.start()
    yield box
    await box.stop()


def _pods(box: Sandbox) -> dict[str, tuple[str, str, str]]:
    """name -> (uid, containerID, startedAt) of the registry pods."""
    out = {}
    for pod in box.kube.objects("pods", REGISTRY_NAMESPACE):
        if box.registry_pods.matches(pod):
            status = pod["status"]["containerStatuses"][0]
            out[pod["metadata"]["name"]] = (
                pod["metadata"]["uid"],
                status["containerID"],
                status["state"].get("running", {}).get("startedAt", ""),
            )
    return out


async def test_deleting_mirror_pods_is_caught_as_no_restart_and_the_plan_asks_for_a_restart_command(
    static_box: Sandbox, tmp_path: Path
) -> None:
    box = static_box
    before, starts = _pods(box), box.registry.starts
    assert sorted(before) == ["registry-acp-global-m1", "registry-acp-global-m2", "registry-acp-global-m3"]
    kube = KubeClient.from_config(str(box.kube.write_kubeconfig(tmp_path / "kc")))
    try:
        target = RegistryPods(
            REGISTRY_NAMESPACE, REGISTRY_SELECTOR, 3.0, config_path=str(box.registry.config_path)
        )
        clearing = await plan_clearing(kube, target)
        assert clearing.method == "cannot" and clearing.reason is not None
        assert (
            "static pods on 127.0.0.11, 127.0.0.12, 127.0.0.13; set REGCLEAN_REGISTRY_RESTART_COMMAND"
            in clearing.reason
        )
        assert (clearing.storage, clearing.cache, clearing.redirect_disabled) == ("s3", "inmemory", True)
        # The old way: delete the pods and wait for Ready pods with new UIDs. Here it must fail.
        with pytest.raises(PodsNotReady) as caught:
            await restart_registry(kube, target)
    finally:
        kube.close()
    assert "a new pod (new UID), but container registry is still" in str(caught.value)
    assert "A new pod UID is not a restart" in str(caught.value)
    after = _pods(box)
    assert all(after[n][0] != before[n][0] for n in before), "the kubelet recreated every mirror pod"
    assert all(after[n][1:] == before[n][1:] for n in before), "and left every container running"
    assert box.registry.starts == starts, "the registry process never restarted"


async def test_the_restart_command_restarts_each_node_s_container_and_proves_it(
    static_box: Sandbox, tmp_path: Path
) -> None:
    box = static_box
    before, starts = _pods(box), box.registry.starts
    kube = KubeClient.from_config(str(box.kube.write_kubeconfig(tmp_path / "kc")))
    settings = Settings.load({**box.environment("http"), "REGCLEAN_REGISTRY_RESTART_COMMAND": RESTART})
    try:
        target = RegistryPods(
            REGISTRY_NAMESPACE,
            REGISTRY_SELECTOR,
            30.0,
            config_path=str(box.registry.config_path),
            restart_command=RESTART,
        )
        clearing = await plan_clearing(kube, target)
        assert clearing.method == "restart-on-node", clearing
        restarted = await restart_registry(kube, target, clearing, None, lambda a: ssh_target(settings, a))
    finally:
        kube.close()
    after = _pods(box)
    assert sorted(restarted) == sorted(before)
    assert [n for n, _ in box.runtime.stopped] == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
    assert all(after[n][0] == before[n][0] and after[n][1] != before[n][1] for n in before), (
        "same pods, new containers"
    )
    assert box.registry.starts == starts + 3


@pytest.fixture(params=["static", "redis"])
async def variant(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox_s3: S3Server
) -> AsyncIterator[Sandbox]:
    """The sample platform with its registry as static pods (inmemory cache), or with a redis cache."""
    if request.param == "static":
        box = Sandbox(tmp_path / "sandbox", as_static(load_fixture()), s3=sandbox_s3)
    else:
        if redis_binary() is None:
            pytest.skip("redis-server is not installed (Debian package redis-server)")
        box = Sandbox(
            tmp_path / "sandbox", load_fixture(), s3=sandbox_s3, registry_options={"cache": "redis"}
        )
    await box.start()
    yield box
    await box.stop()


@pytest.mark.timeout(300)  # a whole runbook on real servers: 40–90 s here, more beside the other worker
async def test_the_runbook_clears_the_cache_as_the_approved_plan_says_and_every_image_pulls(
    variant: Sandbox,
) -> None:
    box = variant
    redis = box.registry.redis
    starts = box.registry.starts
    if redis is not None:
        await redis.command("SET", "another-app", "kept", db=0)
        assert await redis.keys(redis.db), "the seeding left blob descriptors in the registry's database"
        overrides = {}
        planned = f"*Registry cache* redis {redis.addr} db {redis.db} is flushed (FLUSHDB, that database only), then the 3 registry pods are deleted"
    else:
        overrides = {"REGCLEAN_REGISTRY_RESTART_COMMAND": RESTART}
        planned = (
            f"static pods on 3 nodes (127.0.0.11, 127.0.0.12, 127.0.0.13): `{RESTART}` runs over SSH on each"
        )

    async with running_bot(box, "http", overrides) as bot:
        request = await ready_for_purge(bot, box)
        assert planned in text_of(request)
        await approved_and_purged(bot, box, request, timeout=90)
        if redis is not None:
            assert await redis.keys(redis.db) == [], "the registry's database was flushed"
            assert await redis.command("GET", "another-app", db=0) == "kept", "and only that database"
            assert box.registry.starts > starts
        else:
            assert [node for node, _ in box.runtime.stopped] == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
            assert box.registry.starts == starts + 3

        await restored_and_closed(bot, box)
        await bot.bot.runbook.drain()
