"""The control-plane nodes of the global cluster, from the Kubernetes API."""

from __future__ import annotations

from dataclasses import dataclass

from actions.errors import NodesMismatch
from actions.kube import ApiResource, JsonObject, KubeReader

NODES = ApiResource(group="", version="v1", plural="nodes", kind="Node", namespaced=False)
#: the current label, and the one older releases still carry
ROLE_LABELS = ("node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master")


@dataclass(frozen=True)
class ControlPlaneNode:
    """A node name and the address to reach it on."""

    name: str
    address: str
    """Its InternalIP."""


async def control_plane_nodes(kube: KubeReader, expected: int) -> list[ControlPlaneNode]:
    """Every node with a control-plane (or master) role label, by name; refuse if not `expected` of them."""
    found: dict[str, ControlPlaneNode | None] = {}
    for label in ROLE_LABELS:
        async for page in kube.list_pages(NODES, label_selector=label):
            for obj in page:
                name = str((obj.get("metadata") or {}).get("name", ""))
                found[name] = _with_address(name, obj)
    nodes = sorted((n for n in found.values() if n is not None), key=lambda n: n.name)
    missing = sorted(name for name, node in found.items() if node is None)
    if missing or len(nodes) != expected:
        listed = ", ".join(f"{n.name} ({n.address})" for n in nodes) or "none"
        extra = f"; without an InternalIP: {', '.join(missing)}" if missing else ""
        raise NodesMismatch(
            f"Expected {expected} control-plane nodes; found {len(nodes) + len(missing)}: {listed}{extra}. "
            "Set REGCLEAN_EXPECTED_NODES, or list the nodes in REGCLEAN_NODES."
        )
    return nodes


def _with_address(name: str, obj: JsonObject) -> ControlPlaneNode | None:
    addresses = (obj.get("status") or {}).get("addresses") or []
    internal = next((a.get("address") for a in addresses if a.get("type") == "InternalIP"), None)
    return ControlPlaneNode(name, str(internal)) if internal else None
