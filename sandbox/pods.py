"""The registry's pods, kept as their ReplicaSet and kubelet would keep them.

Deleting a registry pod through the API restarts the registry process (so its in-memory blob
cache empties, as a new container's would) and creates a replacement pod: same template hash,
new name and uid, not Ready. The replacement turns Ready once a registry process that started
after its deletion answers. Deletions that arrive during a restart are served by the next one.

Each pod's `containerStatuses[].containerID` and `state.running.startedAt` name the registry
process it runs: they change only when that process really restarts.

Static pods (mirror pods, annotation `kubernetes.io/config.mirror`, see `sandbox/static_pods.py`)
behave as the kubelet keeps them: deleting one recreates the pod object (same name, new uid,
Ready) while the container, and the registry process with its cache, keeps running. Only a
container stopped on its node (`stop_container`, which the `crictl` stand-in calls) restarts it:
the kubelet starts it again with a new containerID, startedAt and restartCount.

The sandbox runs one registry process behind all the pods; a restart of any pod's container
restarts that process, but each pod's status only changes when its own container was restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import hashlib
import logging
import random
from collections.abc import Mapping
from typing import Any

from sandbox.kube import KubeApiServer
from sandbox.kube.defaults import KubeObject
from sandbox.kube.exec import BASE_ENV, ExecEnvironment
from sandbox.kube.selectors import parse_label_selector
from sandbox.registry import Registry

log = logging.getLogger(__name__)

REGISTRY_NAMESPACE = "kube-system"
REGISTRY_SELECTOR = "app=registry,component=registry"
MIRROR = "kubernetes.io/config.mirror"
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
        """Replace the pod (not Ready yet) and have the registry restarted behind it; a mirror pod
        is only recreated, its container left running."""
        if not self.matches(pod):
            return
        if (pod["metadata"].get("annotations") or {}).get(MIRROR):
            self.kube.add(_mirror_again(pod))
            return
        replacement = self.kube.add(_replacement(pod, self._free_name(pod)))
        name = replacement["metadata"]["name"]
        self.replacements.append(name)
        self._restart(name)

    def containers(self, node: str) -> list[tuple[str, str, bool]]:
        """(containerID without its `containerd://`, pod name, running) of the registry containers on a node (hostIP)."""
        found = []
        for pod in self.kube.objects("pods"):
            if self.matches(pod) and (pod.get("status") or {}).get("hostIP") == node:
                for c in pod["status"].get("containerStatuses") or []:
                    cid = str(c.get("containerID") or "").split("://", 1)[-1]
                    found.append((cid, pod["metadata"]["name"], "running" in (c.get("state") or {})))
        return found

    def stop_container(self, node: str, container_id: str) -> str | None:
        """Stop a registry container on `node` as the runtime does; the kubelet then starts it again
        (the registry process restarts). Returns the pod's name, or None when no such container runs."""
        for cid, name, running in self.containers(node):
            if running and container_id and cid.startswith(container_id):
                pod = self.kube.get("pods", self.namespace, name)
                assert pod is not None
                _terminate(pod)
                self.kube.add(pod)
                self._restart(name)
                return name
        return None

    def exec_target(self, pod: KubeObject, container: str | None) -> ExecEnvironment | None:
        """A running registry container can exec (`cat` of its config, in the registry's own workdir)."""
        if not self.matches(pod) or container not in (None, "registry"):
            return None
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        if not any("running" in (c.get("state") or {}) for c in statuses):
            return None
        env = {"PATH": BASE_ENV["PATH"], "HOSTNAME": str(pod["metadata"]["name"])}
        return ExecEnvironment(env=env, cwd=self.registry.workdir)

    def _restart(self, name: str) -> None:
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
        before = {c.get("name"): c for c in status.get("containerStatuses") or []}
        pod["status"] = {
            **_host(status),
            "phase": "Running",
            "podIP": _pod_ip(pod),
            "startTime": status.get("startTime", now),
            "conditions": [
                {"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": now}
                for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
            ],
            "containerStatuses": [self._started(name, c, before.get(c)) for c in containers],
        }
        self.kube.add(pod)

    def _started(self, pod: str, container: str, before: Mapping[str, Any] | None) -> dict[str, Any]:
        """A container the registry's newest process runs: its ID and start are that process's."""
        seed = f"{pod}/{container}/{self.registry.starts}/{self.registry.pid}"
        status: dict[str, Any] = {
            "name": container,
            "ready": True,
            "started": True,
            "containerID": f"containerd://{hashlib.sha256(seed.encode()).hexdigest()}",
            "state": {"running": {"startedAt": self.registry.started_at or _now()}},
            "restartCount": 0,
        }
        if before is not None and "terminated" in (before.get("state") or {}):
            status["restartCount"] = int(before.get("restartCount") or 0) + 1
            status["lastState"] = before["state"]
        for key in ("image", "imageID"):
            if before is not None and key in before:
                status[key] = before[key]
        return status

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


def _mirror_again(pod: KubeObject) -> KubeObject:
    """The mirror pod the kubelet creates again for its static pod: same name and status, new uid."""
    again = copy.deepcopy(pod)
    meta = again["metadata"]
    for key in ("uid", "resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds"):
        meta.pop(key, None)
    meta["creationTimestamp"] = _now()
    return again


def _terminate(pod: KubeObject) -> None:
    """The pod once its container was stopped: not Ready, the container terminated (exit 0)."""
    now = _now()
    status = pod["status"]
    for c in status.get("containerStatuses") or []:
        started = ((c.get("state") or {}).get("running") or {}).get("startedAt")
        c["state"] = {
            "terminated": {
                "exitCode": 0,
                "reason": "Completed",
                "startedAt": started,
                "finishedAt": now,
                "containerID": c.get("containerID"),
            }
        }
        c["ready"], c["started"] = False, False
    for cond in status.get("conditions") or []:
        if cond.get("type") in ("Ready", "ContainersReady"):
            cond["status"], cond["lastTransitionTime"] = "False", now


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
