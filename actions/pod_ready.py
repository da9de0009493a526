"""Finding pods by label and waiting for them to be Ready, as a restart needs."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

from actions.errors import PodsNotReady
from actions.kube import ApiResource, KubeReader

PODS = ApiResource(group="", version="v1", plural="pods", kind="Pod", namespaced=True)


async def find_pods(kube: KubeReader, namespace: str, selector: str) -> list[Mapping[str, Any]]:
    """The pods matching a label selector, as raw JSON, leaving out those being deleted."""
    pods: list[Mapping[str, Any]] = []
    async for page in kube.list_pages(PODS, namespace=namespace, label_selector=selector):
        pods.extend(p for p in page if not _meta(p).get("deletionTimestamp"))
    return pods


async def wait_ready(
    kube: KubeReader,
    namespace: str,
    selector: str,
    *,
    replacing: Collection[str],
    expected: int,
    timeout: float,  # noqa: ASYNC109 - at the deadline the error names the pods that are not Ready
    poll: float = 0.5,
) -> list[str]:
    """Wait until `expected` pods matching `selector`, none of them among the uids `replacing`, are Ready.

    Returns the names of the Ready pods (sorted). Pods being deleted never count. Raises
    `PodsNotReady`, naming the pods that are not, when `timeout` passes first.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pods = await find_pods(kube, namespace, selector)
        fresh = [p for p in pods if _meta(p).get("uid") not in replacing]
        ready = sorted(str(_meta(p).get("name")) for p in fresh if is_ready(p))
        if len(ready) >= expected:
            return ready
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise PodsNotReady(_not_ready(namespace, selector, expected, timeout, ready, pods, replacing))
        await asyncio.sleep(min(poll, remaining))


def is_ready(pod: Mapping[str, Any]) -> bool:
    """Whether a pod serves: its Ready condition is True and it is not being deleted."""
    if _meta(pod).get("deletionTimestamp"):
        return False
    conditions = (pod.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _meta(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = pod.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _not_ready(
    namespace: str,
    selector: str,
    expected: int,
    timeout: float,
    ready: list[str],
    pods: list[Mapping[str, Any]],
    replacing: Collection[str],
) -> str:
    waiting, old = [], []
    for pod in pods:
        name = str(_meta(pod).get("name"))
        if _meta(pod).get("uid") in replacing:
            old.append(name)
        elif name not in ready:
            phase = (pod.get("status") or {}).get("phase") or "no phase"
            waiting.append(f"{name} ({phase}, not Ready)")
    parts = [
        f"Only {len(ready)} of {expected} pods matching {selector} in {namespace} "
        f"were Ready after {timeout:g} s."
    ]
    if waiting:
        parts.append(f"Not Ready: {', '.join(waiting)}.")
    if old:
        parts.append(f"Still running from before: {', '.join(old)}.")
    if not waiting and not old:
        parts.append("No pod matches: is the selector right, and is its controller running?")
    return " ".join(parts)
