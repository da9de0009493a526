"""How the registry's blob cache will be cleared after the purge, decided before it (docs/architecture.md).

- `restart`: the registry pods (ReplicaSet or DaemonSet pods) are deleted; their replacements'
  containers must start anew.
- `restart-on-node`: the pods are static pods (mirror pods): deleting one does not restart its
  container, so `REGCLEAN_REGISTRY_RESTART_COMMAND` runs over SSH on each pod's node, and each
  pod's container must come back with a new containerID and startedAt.
- `flush-redis`: the cache is in redis, whose keys survive restarts: the registry's database is
  flushed (FLUSHDB), then the pods are restarted as above.
- `cannot`: with the reason; the preflight's gate then does not hold.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from actions.registry_config import RegistryConfig

MIRROR = "kubernetes.io/config.mirror"
RESTART_EXAMPLE = "crictl stop $(crictl ps -q --name registry)"


def is_mirror(pod: Mapping[str, Any]) -> bool:
    """A static pod's mirror: the kubelet's annotation, or a Node as its owner."""
    meta = pod.get("metadata") or {}
    if MIRROR in (meta.get("annotations") or {}):
        return True
    return any(o.get("kind") == "Node" for o in meta.get("ownerReferences") or [])


def pod_node(pod: Mapping[str, Any]) -> str | None:
    """The address of the pod's node (`status.hostIP`, the node's InternalIP)."""
    host = (pod.get("status") or {}).get("hostIP")
    return str(host) if host else None


@dataclass(frozen=True)
class CacheClearing:
    """What the plan says about the registry's cache, and how the purge clears it."""

    method: str
    """`restart`, `restart-on-node`, `flush-redis` or `cannot`."""
    storage: str | None
    """The storage driver (None when the configuration could not be read)."""
    cache: str | None
    """`inmemory`, `redis` or `none` (None when the configuration could not be read)."""
    redirect_disabled: bool | None
    pods: int
    """How many registry pods there are."""
    nodes: tuple[str, ...] = ()
    """The static pods' nodes (addresses), when they are static pods."""
    command: str | None = None
    """The command run on each node, for static pods."""
    redis: str | None = None
    """`ADDR db N` of the redis cache."""
    reason: str | None = None
    """Why the cache cannot be cleared (`method` is `cannot`)."""

    @property
    def static(self) -> bool:
        """Whether the registry runs as static pods, restarted on their nodes."""
        return bool(self.nodes)

    def describe(self) -> str:
        """One sentence for the plan approvers read."""
        if self.method == "cannot":
            return f"registry cache: cannot be cleared: {self.reason}"
        restart = (
            f"the registry runs as static pods on {len(self.nodes)} nodes ({', '.join(self.nodes)}): "
            f"`{self.command}` runs over SSH on each, and each pod's container must come back with a new "
            "container ID and start time"
            if self.static
            else f"the {self.pods} registry pods are deleted and their replacements' containers must start anew"
        )
        if self.method == "flush-redis":
            return (
                f"registry cache: redis {self.redis} is flushed (FLUSHDB, that database only), then {restart}"
            )
        return f"registry cache: {self.cache}: {restart}"

    def encode(self) -> dict[str, Any]:
        """The JSON form, as the plan and the preflight store it."""
        return {
            "method": self.method,
            "storage": self.storage,
            "cache": self.cache,
            "redirect_disabled": self.redirect_disabled,
            "pods": self.pods,
            "nodes": list(self.nodes),
            "command": self.command,
            "redis": self.redis,
            "reason": self.reason,
        }

    @classmethod
    def decode(cls, data: Mapping[str, Any]) -> CacheClearing:
        """From the JSON form; ValueError when it is not one."""
        try:
            return cls(
                str(data["method"]),
                _opt(data.get("storage")),
                _opt(data.get("cache")),
                None if data.get("redirect_disabled") is None else bool(data["redirect_disabled"]),
                int(data["pods"]),
                tuple(str(n) for n in data.get("nodes") or ()),
                _opt(data.get("command")),
                _opt(data.get("redis")),
                _opt(data.get("reason")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a registry cache clearing: {exc}") from None


def decide(
    config: RegistryConfig | None,
    pods: Sequence[Mapping[str, Any]],
    restart_command: str | None,
    *,
    unreadable: str | None = None,
    redis_problem: str | None = None,
) -> CacheClearing:
    """How the cache will be cleared, from the configuration (or why it could not be read), the pods,
    the restart command for static pods, and whether redis answered."""
    storage = config.storage if config else None
    cache = config.cache if config else None
    redirect = config.redirect_disabled if config else None
    redis = f"{config.redis_addr} db {config.redis_db}" if config and config.redis_addr else None

    def cannot(reason: str) -> CacheClearing:
        return CacheClearing("cannot", storage, cache, redirect, len(pods), redis=redis, reason=reason)

    if config is None:
        return cannot(unreadable or "the registry's configuration could not be read")
    if not pods:
        return cannot("no registry pod was found, so none can be restarted")
    static = [p for p in pods if is_mirror(p)]
    nodes: tuple[str, ...] = ()
    command = None
    if static:
        nodes = tuple(sorted({n for p in static if (n := pod_node(p))}))
        if len(static) != len(pods):
            return cannot("some registry pods are static pods and some are not; restart them by hand")
        if any(pod_node(p) is None for p in static):
            return cannot("a static registry pod has no node address (status.hostIP)")
        if not restart_command:
            return cannot(
                f"the registry runs as static pods on {', '.join(nodes)}; set REGCLEAN_REGISTRY_RESTART_COMMAND, "
                f"e.g. `{RESTART_EXAMPLE}`, which the kubelet then restarts"
            )
        command = restart_command
    if cache == "redis":
        if redis_problem:
            return cannot(
                f"the registry caches blob descriptors in redis {redis}, which regclean cannot flush: {redis_problem}"
            )
        return CacheClearing("flush-redis", storage, cache, redirect, len(pods), nodes, command, redis)
    method = "restart-on-node" if static else "restart"
    return CacheClearing(method, storage, cache, redirect, len(pods), nodes, command)


def _opt(value: object) -> str | None:
    return None if value is None else str(value)
