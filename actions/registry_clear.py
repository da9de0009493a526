"""Clearing the registry's blob cache after the purge, the way the approved plan says, and proving it.

Before the bucket is touched, `prepare` reads what the clearing needs and refuses when it cannot
be done (a plan that says `cannot`, a redis cache whose address changed since the plan, or that
regclean cannot reach). After the bucket is empty, `clear` flushes the redis database (when the
cache is redis) and restarts the registry's containers, proving the restart (actions/registry_restart.py).
Decisions are in actions/registry_cache.py; docs/architecture.md, "The registry's blob cache".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from actions.errors import ActionError
from actions.kube import KubeClient
from actions.kube_exec import delete_pod, find_pods
from actions.pod_ready import is_ready
from actions.redis_cache import flush_db, redis_keys
from actions.registry_cache import CacheClearing, decide
from actions.registry_config import RedisAccess, read_config
from actions.registry_restart import deleted_at, restart_on_nodes, wait_replaced
from actions.ssh import SshTarget

SshFor = Callable[[str], SshTarget]
"""How to reach a node, by its address."""


@dataclass(frozen=True)
class RegistryPods:
    """The registry's pods, whose blob cache is cleared after the purge."""

    namespace: str
    selector: str
    ready_timeout: float = 600.0
    """Seconds to wait for restarted, Ready containers."""
    config_path: str = "/etc/docker/registry/config.yml"
    """The configuration file inside the registry pods."""
    configmap: str | None = None
    """A ConfigMap (`name` or `namespace/name`) to read the configuration from instead."""
    restart_command: str | None = None
    """The command that restarts a static registry pod's container on its node."""


async def plan_clearing(kube: KubeClient, registry: RegistryPods) -> CacheClearing:
    """Read the registry's configuration and pods, and decide how its cache will be cleared (never raises
    for what it finds: a clearing that cannot be done says why)."""
    pods = await find_pods(kube, registry.namespace, registry.selector)
    ready = sorted((p for p in pods if is_ready(p)), key=lambda p: str(p["metadata"]["name"]))
    if not ready and not registry.configmap:
        why = "no registry pod is Ready to read its configuration in" if pods else "no registry pod was found"
        return decide(None, pods, registry.restart_command, unreadable=why)
    try:
        config, access = await read_config(
            kube, registry.namespace, ready[0] if ready else pods[0], registry.config_path, registry.configmap
        )
    except ActionError as exc:
        return decide(None, pods, registry.restart_command, unreadable=str(exc))
    problem = None
    if access is not None:
        try:
            await redis_keys(access)
        except ActionError as exc:
            problem = str(exc)
    return decide(config, pods, registry.restart_command, redis_problem=problem)


async def prepare(kube: KubeClient, registry: RegistryPods, clearing: CacheClearing) -> RedisAccess | None:
    """Check, before anything is deleted, that the cache can be cleared as planned; the redis access if flushed."""
    if clearing.method == "cannot":
        raise ActionError(f"The registry's blob cache cannot be cleared: {clearing.reason}")
    if clearing.method != "flush-redis":
        return None
    pods = [p for p in await find_pods(kube, registry.namespace, registry.selector) if is_ready(p)]
    if not pods and not registry.configmap:
        raise ActionError("No registry pod is Ready to read its redis settings in; nothing was deleted.")
    pod = sorted(pods, key=lambda p: str(p["metadata"]["name"]))[0] if pods else {}
    config, access = await read_config(
        kube, registry.namespace, pod, registry.config_path, registry.configmap
    )
    now = f"{config.redis_addr} db {config.redis_db}" if access else f"no redis ({config.cache})"
    if access is None or now != clearing.redis:
        raise ActionError(
            f"The registry's cache was redis {clearing.redis} when the plan was approved, and is now {now}. "
            "Nothing was deleted; ask for a new plan."
        )
    await redis_keys(access)
    return access


async def clear(
    kube: KubeClient,
    registry: RegistryPods,
    clearing: CacheClearing,
    access: RedisAccess | None,
    ssh_for: SshFor | None,
) -> tuple[str, ...]:
    """Flush the redis database (when planned), then restart the registry's containers and prove it."""
    if clearing.method == "flush-redis":
        assert access is not None
        await flush_db(access)
    ns, selector = registry.namespace, registry.selector
    pods = await find_pods(kube, ns, selector)
    if not pods:
        raise ActionError(
            f"No registry pods in namespace {ns} with selector {selector}; nothing was restarted. "
            "Check REGCLEAN_REGISTRY_NAMESPACE and REGCLEAN_REGISTRY_SELECTOR."
        )
    if clearing.static:
        if ssh_for is None or not clearing.command:
            raise ActionError("The registry runs as static pods, and no way to reach their nodes was given.")
        return tuple(
            await restart_on_nodes(
                kube, ns, selector, pods, clearing.command, ssh_for, registry.ready_timeout
            )
        )
    since = None
    for pod in pods:
        gone = await delete_pod(kube, ns, str(pod["metadata"]["name"]))
        when = deleted_at(gone)
        since = when if since is None or (when is not None and when < since) else since
    return tuple(await wait_replaced(kube, ns, selector, pods, since, registry.ready_timeout))
