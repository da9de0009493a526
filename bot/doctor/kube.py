"""Kubernetes: discovery finds the ACP kinds, and a SelfSubjectAccessReview for every permission the
runbook uses, asked without using it.

`NEEDED` is the one list of those permissions, derived from what `actions/` calls: the reads of the
inventory, the nodes and the workloads (`actions/inventory.py`, `nodes.py`, `workloads.py`,
`pod_ready.py`), exec in the MinIO pod (`minio.py`, `mc`) and in the registry pods (`registry_config.py`,
`cat` of its configuration), and the delete of the registry pods after the purge (`registry_clear.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from actions.errors import ActionError
from actions.inventory import OPERATORS, PLUGINS
from actions.kube import KubeClient
from actions.kube_discovery import Discovery
from actions.nodes import NODES
from actions.pod_ready import PODS
from bot.config.settings import Settings
from bot.doctor.model import Check, fail, ok

AREA = "kubernetes"
ACP_GROUP = "app.alauda.io"
"""The ACP kinds' group when discovery could not say."""
REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
MINIO, REGISTRY = "minio", "registry"
"""Placeholders in `NEEDED` for REGCLEAN_MINIO_NAMESPACE and REGCLEAN_REGISTRY_NAMESPACE."""


@dataclass(frozen=True)
class Need:
    """One permission: a verb on a resource, in a namespace ("" for all, or cluster-scoped)."""

    verb: str
    resource: str
    """`pods`, `pods/exec`, or a plural that discovery resolves to its group."""
    namespace: str = ""
    why: str = ""

    def describe(self, namespace: str) -> str:
        """`create pods/exec in kube-system`."""
        return f"{self.verb} {self.resource} " + (f"in {namespace}" if namespace else "cluster-wide")


NEEDED: tuple[Need, ...] = (
    Need("list", OPERATORS, why="the inventory"),
    Need("list", PLUGINS, why="the inventory"),
    Need("list", NODES.plural, why="the control-plane nodes"),
    Need("list", PODS.plural, why="the workloads' images and the MinIO and registry pods"),
    *(Need(v, "pods/exec", MINIO, "mc in the MinIO pod") for v in ("get", "create")),
    *(Need(v, "pods/exec", REGISTRY, "reading the registry's configuration") for v in ("get", "create")),
    Need("delete", "pods", REGISTRY, "restarting the registry after the purge"),
)


def needed(settings: Settings) -> list[tuple[Need, str]]:
    """Every permission with its namespace as configured (a ConfigMap read when one is configured)."""
    where = {MINIO: settings.minio_namespace, REGISTRY: settings.registry_namespace, "": ""}
    wanted = [(n, where[n.namespace]) for n in NEEDED]
    if settings.registry_configmap:
        ns, _, _ = settings.registry_configmap.rpartition("/")
        wanted.append(
            (Need("get", "configmaps", REGISTRY, "the registry's configuration"), ns or where[REGISTRY])
        )
    merged: dict[tuple[str, str, str], tuple[Need, str]] = {}
    for need, namespace in wanted:  # MinIO and the registry often share a namespace: ask once
        key = (need.verb, need.resource, namespace)
        if key in merged:
            first = merged[key][0]
            need = Need(first.verb, first.resource, first.namespace, f"{first.why}; {need.why}")
        merged[key] = (need, namespace)
    return list(merged.values())


async def kube_checks(client: KubeClient, settings: Settings) -> list[Check]:
    """Discovery of the ACP kinds, then one review per permission."""
    discovery: Discovery | None = None
    try:
        discovery = await client.discover([OPERATORS, PLUGINS])
        checks = [_discovered(discovery)]
    except ActionError as exc:
        checks = [
            fail(AREA, "discovery", str(exc), "The inventory cannot run until the ACP kinds are served.")
        ]
    for need, namespace in needed(settings):
        checks.append(await _review(client, discovery, need, namespace))
    return checks


def _discovered(discovery: Discovery) -> Check:
    found = ", ".join(f"{r.plural} ({r.group_version})" for r in discovery.resources.values())
    skipped = "; ".join(s.describe() for s in discovery.skipped)
    return ok(AREA, "discovery", found + (f"; skipped {skipped}" if skipped else ""))


async def _review(client: KubeClient, discovery: Discovery | None, need: Need, namespace: str) -> Check:
    resource, _, subresource = need.resource.partition("/")
    group = "" if resource in ("pods", "nodes", "configmaps") else ACP_GROUP
    if discovery is not None and resource in discovery.resources:
        group = discovery.resources[resource].group
    attributes = {"verb": need.verb, "group": group, "resource": resource}
    if subresource:
        attributes["subresource"] = subresource
    if namespace:
        attributes["namespace"] = namespace
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    answer = await client.create(REVIEWS, body)
    status = answer.get("status") or {}
    what = need.describe(namespace)
    if status.get("allowed") is True:
        return ok(AREA, what, f"allowed ({need.why})")
    reason = status.get("reason") or status.get("evaluationError") or "no rule allows it"
    return fail(
        AREA,
        what,
        f"not allowed: {reason}",
        f"Grant regclean's ServiceAccount {what} ({need.why}); deploy/ has the Roles.",
    )


def described(pairs: Iterable[tuple[Need, str]]) -> list[str]:
    """Each permission in words (for the docs and tests)."""
    return [n.describe(ns) for n, ns in pairs]
