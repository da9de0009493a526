"""Discovery documents (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/G/V`), in the server's shapes."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from .resources import ResourceDef, ResourceIndex

SERVER_VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.6",
    "gitCommit": "6b3560758b37680cb713dfc71da03c04cadd657c",
    "gitTreeState": "clean",
    "buildDate": "2025-02-12T21:24:52Z",
    "goVersion": "go1.22.12",
    "compiler": "gc",
    "platform": "linux/amd64",
}

_SUBRESOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    # subresource: (kind, verbs); an empty kind means the parent's kind
    "exec": ("PodExecOptions", ("create", "get")),
    "log": ("Pod", ("get",)),
    "status": ("", ("get", "patch", "update")),
}


def api_versions(server_address: str, *, served: bool = True) -> dict[str, Any]:
    """`/api`: the core group's versions (none when no core resource is served)."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"] if served else [],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def api_group_list(index: ResourceIndex) -> dict[str, Any]:
    """`/apis`: every named group with its versions and its preferred (highest) version."""
    groups = []
    for group, versions in index.groups().items():
        if not group:
            continue
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_resource_list(index: ResourceIndex, group: str, version: str) -> dict[str, Any] | None:
    """`/api/v1` or `/apis/G/V`: the resources of one group/version, None when it is not served."""
    served = index.in_group_version(group, version)
    if not served:
        return None
    resources: list[dict[str, Any]] = []
    for r in served:
        resources.append(_resource_entry(r))
        for sub in r.subresources:
            kind, verbs = _SUBRESOURCES.get(sub, ("", ("get",)))
            resources.append(
                {
                    "name": f"{r.plural}/{sub}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": kind or r.kind,
                    "verbs": list(verbs),
                }
            )
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": served[0].group_version,
        "resources": resources,
    }


def _resource_entry(r: ResourceDef) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    digest = hashlib.sha256(f"{r.group_version}/{r.plural}".encode()).digest()
    entry["storageVersionHash"] = base64.b64encode(digest[:8]).decode()
    return entry
