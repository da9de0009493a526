"""The registry's blob cache is really cleared after the purge: static (mirror) pods and a redis cache,
each alone in the cases below, and together in one whole runbook.

A new pod UID is no proof of a restart: the kubelet recreates a deleted mirror pod while its
container, and the cache in it, keeps running; a redis cache survives any restart. These run the
real docker-registry (and a real redis-server) behind the sandbox's pods.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from actions.errors import PodsNotReady
from actions.kube import KubeClient
from actions.minio import restart_registry
from actions.registry_clear import RegistryPods, plan_clearing
from bot.config.settings import Settings
from bot.steps.backup.plan import ssh_target
from sandbox.kube.fixtures import lean_sample
from sandbox.pods import REGISTRY_NAMESPACE, REGISTRY_SELECTOR
from sandbox.registry import S3Server
from sandbox.registry.redis import redis_binary
from sandbox.stack import Sandbox, running_bot
from sandbox.static_pods import as_static
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import (
    RESTORE_CORE,
    RESTORE_CUSTOM,
    RESTORE_PLUGINS,
    VERIFY,
    approved_and_purged,
    in_thread,
    ready_for_purge,
    step_line,
)

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]
RESTART = "crictl stop $(crictl ps -q --name registry)"
NEEDS_REDIS = pytest.mark.skipif(
    redis_binary() is None, reason="redis-server is not installed (Debian package redis-server)"
)


@pytest.fixture
async def static_box(tmp_path: Path, sandbox_s3: S3Server) -> AsyncIterator[Sandbox]:
    """The sample platform with its registry run as static pods, one mirror pod per control-plane node."""
    box = Sandbox(tmp_path / "sandbox", as_static(lean_sample()), s3=sandbox_s3)
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


@pytest.fixture
async def static_redis_box(tmp_path: Path, sandbox_s3: S3Server) -> AsyncIterator[Sandbox]:
    """The sample platform with its registry as static pods that cache blob descriptors in redis:
    both ways a cache outlives a pod's deletion, in one sandbox (each variant's one end-to-end path)."""
    box = Sandbox(
        tmp_path / "sandbox", as_static(lean_sample()), s3=sandbox_s3, registry_options={"cache": "redis"}
    )
    await box.start()
    yield box
    await box.stop()


@NEEDS_REDIS
@pytest.mark.timeout(300)  # a whole runbook on real servers: 40–90 s here, more beside the other worker
async def test_the_runbook_clears_the_cache_as_the_approved_plan_says_and_every_image_pulls(
    static_redis_box: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The cache variants' runbook; violet logs in with the platform's API token, not a password
    (that variant's one end-to-end path too): the token never shows in anything regclean writes."""
    caplog.set_level(logging.DEBUG)
    box = static_redis_box
    ws = box.slack
    redis = box.registry.redis
    assert redis is not None
    starts = box.registry.starts
    await redis.command("SET", "another-app", "kept", db=0)
    assert await redis.keys(redis.db), "the seeding left blob descriptors in the registry's database"
    overrides = {
        "REGCLEAN_REGISTRY_RESTART_COMMAND": RESTART,
        "REGCLEAN_PLATFORM_TOKEN": box.platform_token,
        "REGCLEAN_PLATFORM_PASSWORD": "",
    }
    flushed = (
        f"*Registry cache* redis {redis.addr} db {redis.db} is flushed (FLUSHDB, that database only), then "
    )
    restarted = (
        f"static pods on 3 nodes (127.0.0.11, 127.0.0.12, 127.0.0.13): `{RESTART}` runs over SSH on each"
    )

    async with running_bot(box, "http", overrides) as bot:
        assert bot.bot.settings.platform_password is None, "no password at all: the token has to do"
        request = await ready_for_purge(bot, box)
        assert flushed in text_of(request) and restarted in text_of(request)
        await approved_and_purged(bot, box, request, timeout=90)
        assert await redis.keys(redis.db) == [], "the registry's database was flushed"
        assert await redis.command("GET", "another-app", db=0) == "kept", "and only that database"
        assert [node for node, _ in box.runtime.stopped] == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
        assert box.registry.starts == starts + 3

        await bot.driver.slash("UALICE", "restore core")
        await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CORE), timeout=90)
        node = box.nodes.nodes["127.0.0.11"]
        before = len(node.commands)
        await bot.driver.slash("UALICE", "restore plugins")
        await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_PLUGINS), timeout=180)
        await ws.wait_for(lambda w: step_line(w, "✅", RESTORE_CUSTOM), timeout=60)
        await ws.wait_for(lambda w: step_line(w, "✅", VERIFY), timeout=60)
        await ws.wait_for(lambda w: in_thread(w, "Final report — run #"), timeout=60)
        await bot.bot.runbook.drain()
    said = "\n".join(text_of(m) for m in ws.messages) + "\n".join(e.text for e in ws.ephemerals)
    commands = "\n".join(str(c) for c in node.commands[before:])
    assert "violet" in commands
    everything = "\n".join(str(c) for c in node.commands)
    for piece in (box.platform_token, box.platform_token.rpartition("-")[2]):
        assert piece not in said and piece not in caplog.text and piece not in everything
