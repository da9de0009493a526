"""Restarting the registry's containers, and proving it: a new pod UID alone is not a restart.

A restart is proven by each registry container's `containerID` and `state.running.startedAt`:
- deleted ReplicaSet/DaemonSet pods: each replacement must be Ready with containers whose IDs
  none of the old pods had, started no earlier than the delete (the API server's own time);
- static pods: `REGCLEAN_REGISTRY_RESTART_COMMAND` runs over SSH on each pod's node, then that
  pod (same name) must be Ready with a new containerID and a startedAt no earlier than the old
  one's (startedAt has whole seconds: a quick restart may keep the same second). Deleting a mirror
  pod only recreates the object: its container keeps running, and its cache with it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

from actions.errors import PodsNotReady, RemoteCommandFailed
from actions.kube import KubeReader
from actions.pod_ready import find_pods, is_ready
from actions.registry_cache import pod_node
from actions.ssh import SshTarget, connect

Run = tuple[str | None, str | None]
"""(containerID, state.running.startedAt) of one container; (id, None) when it is not running."""
POLL = 0.5


def runs(pod: Mapping[str, Any]) -> dict[str, Run]:
    """Each container's ID and start, by container name."""
    out: dict[str, Run] = {}
    for c in (pod.get("status") or {}).get("containerStatuses") or []:
        running = (c.get("state") or {}).get("running") or {}
        out[str(c.get("name"))] = (c.get("containerID"), running.get("startedAt"))
    return out


def deleted_at(gone: Mapping[str, Any]) -> dt.datetime | None:
    """When the API server took the delete: the answer's deletionTimestamp minus its grace period."""
    meta = gone.get("metadata") or {}
    when = _time(meta.get("deletionTimestamp"))
    if when is None:
        return None
    return when - dt.timedelta(seconds=int(meta.get("deletionGracePeriodSeconds") or 0))


async def wait_replaced(
    kube: KubeReader,
    namespace: str,
    selector: str,
    old: Sequence[Mapping[str, Any]],
    since: dt.datetime | None,
    timeout: float,  # noqa: ASYNC109 - at the deadline the error names what did not restart
) -> list[str]:
    """Wait until as many pods as `old` are Ready replacements whose containers started anew."""
    old_uids = {_meta(p).get("uid") for p in old}
    old_ids = {cid for p in old for cid, _ in runs(p).values() if cid}
    starts = [t for p in old for _, s in runs(p).values() if (t := _time(s)) is not None]
    floor = since or max(starts, default=None)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pods = await find_pods(kube, namespace, selector)
        fresh = [p for p in pods if _meta(p).get("uid") not in old_uids]
        proven = sorted(_name(p) for p in fresh if is_ready(p) and not _stale(p, old_ids, floor))
        if len(proven) >= len(old):
            return proven
        if loop.time() >= deadline:
            raise PodsNotReady(
                _not_replaced(namespace, selector, len(old), timeout, pods, old_uids, old_ids, floor)
            )
        await asyncio.sleep(POLL)


async def restart_on_nodes(
    kube: KubeReader,
    namespace: str,
    selector: str,
    pods: Sequence[Mapping[str, Any]],
    command: str,
    ssh_for: Callable[[str], SshTarget],
    timeout: float,  # noqa: ASYNC109
) -> list[str]:
    """Run `command` on each static pod's node, one node at a time, and wait for its containers to restart."""
    by_node: dict[str, dict[str, dict[str, Run]]] = {}
    for pod in pods:
        node = pod_node(pod)
        if node is None:
            raise RemoteCommandFailed(
                f"The registry pod {namespace}/{_name(pod)} has no node address (status.hostIP)."
            )
        by_node.setdefault(node, {})[_name(pod)] = runs(pod)
    restarted: list[str] = []
    for node, before in sorted(by_node.items()):
        async with connect(ssh_for(node)) as session:
            result = await session.run_script(command, [])
        if result.exit_status != 0:
            said = " | ".join(result.stderr_tail[-3:]) or "no output"
            raise RemoteCommandFailed(
                f"{node}: `{command}` (REGCLEAN_REGISTRY_RESTART_COMMAND) exited with status "
                f"{result.exit_status}: {said}. The registry's container on that node was not restarted."
            )
        restarted += await _wait_new_containers(kube, namespace, selector, node, before, command, timeout)
    return sorted(restarted)


async def _wait_new_containers(
    kube: KubeReader,
    namespace: str,
    selector: str,
    node: str,
    before: Mapping[str, Mapping[str, Run]],
    command: str,
    timeout: float,  # noqa: ASYNC109
) -> list[str]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pods = {_name(p): p for p in await find_pods(kube, namespace, selector)}
        waiting = {n: _unrestarted(pods.get(n), old) for n, old in before.items()}
        if not any(waiting.values()):
            return list(before)
        if loop.time() >= deadline:
            why = "; ".join(f"{n}: {w}" for n, w in sorted(waiting.items()) if w)
            raise PodsNotReady(
                f"After `{command}` on {node}, the registry's container there did not restart within "
                f"{timeout:g} s ({why}). Its blob cache may still be stale; restoring stays blocked."
            )
        await asyncio.sleep(POLL)


def _unrestarted(pod: Mapping[str, Any] | None, old: Mapping[str, Run]) -> str | None:
    """Why this pod does not prove a restart of its containers yet; None once it does."""
    if pod is None:
        return "the pod is gone"
    now = runs(pod)
    for name, (old_id, old_start) in old.items():
        cid, start = now.get(name, (None, None))
        if cid == old_id:
            return f"container {name} still runs as {_short(old_id)} since {old_start}"
        if start is None:
            return f"container {name} is not running yet"
        if (_time(start) or _EPOCH) < (_time(old_start) or _EPOCH):
            return f"container {name} reports a start ({start}) before the old one's ({old_start})"
    return None if is_ready(pod) else "not Ready"


def _stale(pod: Mapping[str, Any], old_ids: Collection[str], floor: dt.datetime | None) -> str | None:
    """Why a replacement does not prove a new container; None when it does."""
    for name, (cid, start) in runs(pod).items():
        if not cid or start is None:
            return f"container {name} is not running"
        if cid in old_ids:
            return f"container {name} is still {_short(cid)}, started {start}"
        started = _time(start)
        if floor is not None and (started is None or started < floor.replace(microsecond=0)):
            return f"container {name} started {start}, before the delete"
    return None


def _not_replaced(
    namespace: str,
    selector: str,
    expected: int,
    timeout: float,
    pods: Sequence[Mapping[str, Any]],
    old_uids: Collection[Any],
    old_ids: Collection[str],
    floor: dt.datetime | None,
) -> str:
    parts = [f"The {expected} registry pods matching {selector} in {namespace} were not all replaced by "
             f"Ready pods with restarted containers within {timeout:g} s."]  # fmt: skip
    for pod in sorted(pods, key=_name):
        if _meta(pod).get("uid") in old_uids:
            parts.append(f"{_name(pod)}: still the old pod.")
        elif (why := _stale(pod, old_ids, floor)) is not None:
            parts.append(f"{_name(pod)}: a new pod (new UID), but {why}: its process did not restart.")
        elif not is_ready(pod):
            parts.append(f"{_name(pod)}: not Ready.")
    if any("new UID" in p for p in parts):
        parts.append(
            "A new pod UID is not a restart: static (mirror) pods are recreated by the kubelet while their "
            "container keeps running. Set REGCLEAN_REGISTRY_RESTART_COMMAND and make a new plan."
        )
    return " ".join(parts)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _time(value: object) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _short(cid: str | None) -> str:
    return (cid or "none").split("://", 1)[-1][:13]


def _meta(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = pod.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _name(pod: Mapping[str, Any]) -> str:
    return str(_meta(pod).get("name"))
