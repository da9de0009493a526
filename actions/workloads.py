"""The images that the global cluster's pods pull from the platform registry.

The final verification pulls every one of them; an image the purge would lose and nobody
restores shows up there by name.
"""

from __future__ import annotations

from actions.kube import ApiResource, JsonObject, KubeReader

PODS = ApiResource(group="", version="v1", plural="pods", kind="Pod", namespaced=True)
_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")


async def workload_images(
    kube: KubeReader, registry: str, *, page_size: int = 500
) -> dict[str, tuple[str, ...]]:
    """Every distinct image reference in a pod spec (any namespace) that names `registry` as its
    host, with the workloads that use it (`namespace/owner` or `namespace/pod`), both sorted."""
    prefix = registry.rstrip("/") + "/"
    found: dict[str, set[str]] = {}
    async for page in kube.list_pages(PODS, page_size=page_size):
        for pod in page:
            for image in pod_images(pod):
                if image.startswith(prefix):
                    found.setdefault(image, set()).add(workload_of(pod))
    return {image: tuple(sorted(found[image])) for image in sorted(found)}


def workload_of(pod: JsonObject) -> str:
    """`namespace/name` of what runs the pod: its controller (`kube-system/Deployment coredns` shows as
    `kube-system/coredns`), or the pod itself."""
    metadata = pod.get("metadata") or {}
    owners = [o for o in metadata.get("ownerReferences") or [] if isinstance(o, dict) and o.get("name")]
    owner = next((o for o in owners if o.get("controller")), owners[0] if owners else None)
    name = str(owner["name"]) if owner else str(metadata.get("name") or "?")
    return f"{metadata.get('namespace') or '-'}/{name}"


def pod_images(pod: JsonObject) -> list[str]:
    """The image of every container of a pod, init and ephemeral ones included."""
    spec = pod.get("spec") or {}
    return [
        str(c["image"])
        for key in _CONTAINER_LISTS
        for c in spec.get(key) or []
        if isinstance(c, dict) and c.get("image")
    ]


def repository_of(image: str, registry: str) -> str:
    """`host:port/acp/archon:v4.2.5` (or `…@sha256:…`) → `acp/archon`."""
    path = image.removeprefix(registry.rstrip("/") + "/")
    path = path.split("@", 1)[0]
    name, _, tag = path.rpartition(":")
    return name if name and "/" not in tag else path
