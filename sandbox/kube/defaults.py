"""Fill in what a real API server and kubelet would have set on an object.

Fixtures stay short and readable, while clients see complete objects: the Python client 37.x
deserialises core kinds into strict models and rejects a pod whose container statuses lack
`image`, `imageID` or `restartCount`, or a node without its `nodeInfo`.
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from .resources import ResourceDef

KubeObject = dict[str, Any]

SANDBOX_EPOCH = "2025-06-01T08:00:00Z"
"""creationTimestamp of objects whose fixture gives none, so that runs are reproducible."""


def complete(obj: Mapping[str, Any], res: ResourceDef, resource_version: int) -> KubeObject:
    """A deep copy of `obj` with apiVersion, kind, metadata and kind-specific defaults set."""
    out: KubeObject = copy.deepcopy(dict(obj))
    out["apiVersion"] = res.group_version
    out["kind"] = res.kind
    meta = out.setdefault("metadata", {})
    if not meta.get("name"):
        raise ValueError(f"a {res.kind} without metadata.name: {obj!r}")
    if res.namespaced:
        meta.setdefault("namespace", "default")
    else:
        meta.pop("namespace", None)
    # Seeded by the creating revision: reproducible, yet a re-created object gets a new uid.
    key = f"{res.plural}.{res.group}/{meta.get('namespace', '')}/{meta['name']}@{resource_version}"
    meta.setdefault("uid", str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox://{key}")))
    meta.setdefault("creationTimestamp", SANDBOX_EPOCH)
    meta["resourceVersion"] = str(resource_version)
    if res.group:
        meta.setdefault("generation", 1)
    fill = _BY_KIND.get((res.group, res.kind))
    if fill is not None:
        fill(out)
    return out


def image_id(image: str) -> str:
    """A stable, digest-pinned imageID for an image reference, as containerd reports it."""
    digest = hashlib.sha256(image.encode()).hexdigest()
    repo = image.rsplit("@", 1)[0]
    last = repo.rsplit("/", 1)[-1]
    if ":" in last:
        repo = repo[: repo.rfind(":")]
    return f"{repo}@sha256:{digest}"


def _pod(pod: KubeObject) -> None:
    spec = pod.setdefault("spec", {})
    spec.setdefault("containers", [])
    for key, value in (
        ("restartPolicy", "Always"),
        ("terminationGracePeriodSeconds", 30),
        ("dnsPolicy", "ClusterFirst"),
        ("serviceAccountName", "default"),
        ("serviceAccount", "default"),
        ("schedulerName", "default-scheduler"),
        ("securityContext", {}),
        ("enableServiceLinks", True),
        ("preemptionPolicy", "PreemptLowerPriority"),
        ("priority", 0),
    ):
        spec.setdefault(key, value)
    for c in spec["containers"]:
        c.setdefault("resources", {})
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("imagePullPolicy", "IfNotPresent")
    status = pod.setdefault("status", {})
    phase = status.setdefault("phase", "Running")
    running = phase == "Running"
    started = pod["metadata"]["creationTimestamp"]
    status.setdefault("startTime", started)
    status.setdefault("qosClass", "BestEffort")
    truth = "True" if running else "False"
    status.setdefault(
        "conditions",
        [
            {
                "type": t,
                "status": "True" if t in ("Initialized", "PodScheduled") else truth,
                "lastProbeTime": None,
                "lastTransitionTime": started,
            }
            for t in ("Initialized", "Ready", "ContainersReady", "PodScheduled")
        ],
    )
    given = {s.get("name"): s for s in status.get("containerStatuses", [])}
    statuses = []
    for c in spec["containers"]:
        s = given.get(c["name"], {"name": c["name"]})
        s.setdefault("image", c.get("image", ""))
        s.setdefault("imageID", image_id(s["image"]))
        s.setdefault("ready", running)
        s.setdefault("started", running)
        s.setdefault("restartCount", 0)
        digest = hashlib.sha256(f"{pod['metadata']['uid']}/{c['name']}".encode()).hexdigest()
        s.setdefault("containerID", f"containerd://{digest}")
        if running:
            s.setdefault("state", {"running": {"startedAt": started}})
        else:
            s.setdefault("state", {"waiting": {"reason": "ContainerCreating"}})
        s.setdefault("lastState", {})
        statuses.append(s)
    status["containerStatuses"] = statuses


def _node(node: KubeObject) -> None:
    meta = node["metadata"]
    name = meta["name"]
    labels = meta.setdefault("labels", {})
    labels.setdefault("kubernetes.io/hostname", name)
    labels.setdefault("kubernetes.io/os", "linux")
    labels.setdefault("kubernetes.io/arch", "amd64")
    labels.setdefault("beta.kubernetes.io/os", "linux")
    labels.setdefault("beta.kubernetes.io/arch", "amd64")
    status = node.setdefault("status", {})
    addresses = status.setdefault("addresses", [])
    if not any(a.get("type") == "Hostname" for a in addresses):
        addresses.append({"type": "Hostname", "address": name})
    node.setdefault("spec", {})
    seed = hashlib.sha256(name.encode()).hexdigest()
    info = status.setdefault("nodeInfo", {})
    for key, value in (
        ("architecture", "amd64"),
        ("bootID", str(uuid.UUID(seed[:32]))),
        ("containerRuntimeVersion", "containerd://1.7.27"),
        ("kernelVersion", "5.15.0-131-generic"),
        ("kubeProxyVersion", "v1.31.6"),
        ("kubeletVersion", "v1.31.6"),
        ("machineID", seed[32:64]),
        ("operatingSystem", "linux"),
        ("osImage", "Ubuntu 22.04.5 LTS"),
        ("systemUUID", str(uuid.UUID(seed[:32])).upper()),
    ):
        info.setdefault(key, value)
    capacity = {"cpu": "16", "memory": "32778996Ki", "pods": "110", "ephemeral-storage": "205314024Ki"}
    status.setdefault("capacity", capacity)
    status.setdefault("allocatable", dict(capacity))
    status.setdefault("daemonEndpoints", {"kubeletEndpoint": {"Port": 10250}})
    ts = meta["creationTimestamp"]
    status.setdefault(
        "conditions",
        [
            {
                "type": t,
                "status": s,
                "reason": r,
                "message": m,
                "lastHeartbeatTime": ts,
                "lastTransitionTime": ts,
            }
            for t, s, r, m in (
                ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory"),
                ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
            )
        ],
    )


def _namespace(ns: KubeObject) -> None:
    ns["metadata"].setdefault("labels", {}).setdefault("kubernetes.io/metadata.name", ns["metadata"]["name"])
    ns.setdefault("spec", {"finalizers": ["kubernetes"]})
    ns.setdefault("status", {"phase": "Active"})


_BY_KIND: dict[tuple[str, str], Callable[[KubeObject], None]] = {
    ("", "Pod"): _pod,
    ("", "Node"): _node,
    ("", "Namespace"): _namespace,
}
