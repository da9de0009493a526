"""The registry's pods, kept as their ReplicaSet and kubelet would keep them.

Deleting a registry pod through the API restarts the registry process (so its in-memory blob
cache empties, as a new container's would) and creates a replacement pod: same template hash,
new name and uid, not Ready. The replacement turns Ready once a registry process that started
after its deletion answers. Deletions that arrive during a restart are served by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import logging
import random
from collections.abc import Mapping
from typing import Any

from sandbox.kube import KubeApiServer
from sandbox.kube.defaults import KubeObject
from sandbox.kube.selectors import parse_label_selector
from sandbox.registry import Registry

log = logging.getLogger(__name__)

REGISTRY_NAMESPACE = "kube-system"
REGISTRY_SELECTOR = "app=registry,component=registry"
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # what Kubernetes uses for generated names


class RegistryPods:
    """Restarts `registry` when one of its pods is deleted; `on_pod_deleted` is the API server's hook."""

    def __init__(
        self,
        kube: KubeApiServer,
        registry: Registry,
        *,
        namespace: str = REGISTRY_NAMESPACE,
        selector: str = REGISTRY_SELECTOR,
    ) -> None:
        self.kube = kube
        self.registry = registry
        self.namespace = namespace
        self.selector = selector
        self._requirements = parse_label_selector(selector)
        self.restarts = 0
        """How many times the registry process was restarted for deleted pods."""
        self.replacements: list[str] = []
        """Names of the pods created for deleted ones, in order."""
        self._waiting: list[str] = []
        self._worker: asyncio.Task[None] | None = None
        self._idle = asyncio.Event()
        self._idle.set()

    def matches(self, pod: Mapping[str, Any]) -> bool:
        """Whether the pod is one of the registry's (namespace and selector)."""
        meta = pod.get("metadata") or {}
        labels = meta.get("labels") or {}
        return meta.get("namespace") == self.namespace and all(r.matches(labels) for r in self._requirements)

    async def on_pod_deleted(self, pod: KubeObject) -> None:
        """Replace the pod (not Ready yet) and have the registry restarted behind it."""
        if not self.matches(pod):
            return
        replacement = self.kube.add(_replacement(pod, self._free_name(pod)))
        name = replacement["metadata"]["name"]
        self.replacements.append(name)
        self._waiting.append(name)
        self._idle.clear()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._restart_loop(), name="sandbox-registry-restart")

    async def wait_idle(self) -> None:
        """Return once no restart is pending or running."""
        await self._idle.wait()

    async def stop(self) -> None:
        """Cancel a restart in progress."""
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        self._idle.set()

    async def _restart_loop(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                try:
                    await self.registry.restart()
                except Exception:
                    # The pods stay not Ready, as pods in CrashLoopBackOff do; the log says why.
                    log.exception("sandbox: the registry did not come back after a pod was deleted")
                    continue
                self.restarts += 1
                for name in batch:
                    self._mark_ready(name)
        finally:
            if not self._waiting:
                self._idle.set()

    def _mark_ready(self, name: str) -> None:
        pod = self.kube.get("pods", self.namespace, name)
        if pod is None:
            return  # deleted again before it became Ready; its own replacement takes over
        now = _now()
        status = pod["status"]
        containers = [c["name"] for c in pod["spec"]["containers"]]
        pod["status"] = {
            **_host(status),
            "phase": "Running",
            "podIP": _pod_ip(pod),
            "startTime": status.get("startTime", now),
            "conditions": [
                {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [
                {"name": c, "ready": True, "started": True, "state": {"running": {"startedAt": now}}}
                for c in containers
            ],
        }
        self.kube.add(pod)

    def _free_name(self, pod: KubeObject) -> str:
        base = pod["metadata"]["name"].rsplit("-", 1)[0]
        rng = random.Random(pod["metadata"].get("uid"))
        while True:
            name = f"{base}-{''.join(rng.choices(_SUFFIX_ALPHABET, k=5))}"
            if self.kube.get("pods", self.namespace, name) is None:
                return name


def _replacement(pod: KubeObject, name: str) -> KubeObject:
    """The pod the ReplicaSet creates for a deleted one: same template, scheduled, containers starting."""
    meta = pod["metadata"]
    kept = {k: copy.deepcopy(meta[k]) for k in ("labels", "annotations", "ownerReferences") if k in meta}
    spec = copy.deepcopy(pod.get("spec") or {})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": meta.get("namespace"),
            "generateName": name.rsplit("-", 1)[0] + "-",
            "creationTimestamp": _now(),
            **kept,
        },
        "spec": spec,
        "status": {"phase": "Pending", **_host(pod.get("status") or {})},
    }


def _host(status: Mapping[str, Any]) -> dict[str, Any]:
    """The node the pod runs on: a replacement stays on its predecessor's."""
    return {"hostIP": status["hostIP"]} if status.get("hostIP") else {}


def _pod_ip(pod: KubeObject) -> str:
    """A pod IP in the node's range, stable for the pod's uid."""
    host = (pod["status"].get("hostIP") or "127.0.0.11").rsplit(".", 1)[-1]
    rng = random.Random(pod["metadata"]["uid"])
    return f"10.3.{int(host) % 250}.{rng.randint(100, 250)}"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
