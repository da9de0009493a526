"""The resource types the simulated API server serves, and how to look them up."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

READ_VERBS = ("get", "list", "watch")
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceDef:
    """One served resource type, as an APIResourceList entry describes it."""

    plural: str
    """URL segment and discovery `name`, e.g. `operatorviews`."""
    singular: str
    """Discovery `singularName`; kubectl also resolves this, e.g. `kubectl get modulepluginview`."""
    kind: str
    """Object `kind`; the list kind is this plus `List`."""
    group: str
    """API group, "" for the core group served under /api."""
    version: str
    """API version within the group, e.g. `v1alpha2`."""
    namespaced: bool
    """Whether objects live in a namespace."""
    verbs: tuple[str, ...] = READ_VERBS
    """Verbs announced by discovery; DELETE is refused unless `delete` is among them."""
    short_names: tuple[str, ...] = ()
    """Discovery `shortNames`, e.g. `po`."""
    subresources: tuple[str, ...] = field(default=())
    """Subresources announced by discovery as `plural/sub`, e.g. `exec` for pods."""

    @property
    def group_version(self) -> str:
        """The `apiVersion` of this resource's objects (`v1` for core, else `group/version`)."""
        return f"{self.group}/{self.version}" if self.group else self.version


def _core(plural: str, singular: str, kind: str, namespaced: bool, **kw: Any) -> ResourceDef:
    return ResourceDef(plural, singular, kind, "", "v1", namespaced, **kw)


# Group/version of the two ACP kinds differ between ACP releases, which is why the bot must find
# them by discovery: fixtures override these through their top-level `resources:` key.
DEFAULT_RESOURCES: Mapping[str, ResourceDef] = {
    r.plural: r
    for r in (
        _core("namespaces", "namespace", "Namespace", False, short_names=("ns",), subresources=("status",)),
        _core("nodes", "node", "Node", False, short_names=("no",), subresources=("status",)),
        _core(
            "pods",
            "pod",
            "Pod",
            True,
            verbs=ALL_VERBS,
            short_names=("po",),
            subresources=("exec", "log", "status"),
        ),
        _core("services", "service", "Service", True, short_names=("svc",)),
        _core("configmaps", "configmap", "ConfigMap", True, short_names=("cm",)),
        ResourceDef("deployments", "deployment", "Deployment", "apps", "v1", True, short_names=("deploy",)),
        ResourceDef("statefulsets", "statefulset", "StatefulSet", "apps", "v1", True, short_names=("sts",)),
        ResourceDef("operatorviews", "operatorview", "OperatorView", "app.alauda.io", "v1alpha1", True),
        ResourceDef(
            "modulepluginviews", "modulepluginview", "ModulePluginView", "app.alauda.io", "v1alpha2", False
        ),
        # Unrelated groups whose names look alike, so that a client must match discovery exactly.
        ResourceDef(
            "operatorviewreports",
            "operatorviewreport",
            "OperatorViewReport",
            "example.alauda.io",
            "v1beta1",
            True,
        ),
        ResourceDef("moduleplugins", "moduleplugin", "ModulePlugin", "example.alauda.io", "v1beta1", False),
        ResourceDef(
            "subscriptions",
            "subscription",
            "Subscription",
            "operators.coreos.com",
            "v1alpha1",
            True,
            short_names=("sub", "subs"),
        ),
        ResourceDef(
            "clusterserviceversions",
            "clusterserviceversion",
            "ClusterServiceVersion",
            "operators.coreos.com",
            "v1alpha1",
            True,
            short_names=("csv", "csvs"),
        ),
    )
}

_FIELD_ALIASES = {"shortNames": "short_names", "singularName": "singular", "name": "plural"}


def resource_from_mapping(plural: str, spec: Mapping[str, Any], base: ResourceDef | None) -> ResourceDef:
    """Build a ResourceDef from a fixture's `resources:` entry, filling gaps from `base`."""
    fields: dict[str, Any] = {}
    for key, value in spec.items():
        name = _FIELD_ALIASES.get(key, key)
        fields[name] = tuple(value) if isinstance(value, list) else value
    fields["plural"] = plural
    if base is not None:
        return replace(base, **fields)
    missing = {"singular", "kind", "group", "version", "namespaced"} - fields.keys()
    if missing:
        raise ValueError(f"resource {plural!r} is new, so it needs {sorted(missing)}")
    return ResourceDef(**fields)


def merge_resources(overrides: Mapping[str, ResourceDef] | None) -> dict[str, ResourceDef]:
    """The default resources with `overrides` (keyed by plural) replacing or adding entries."""
    merged = dict(DEFAULT_RESOURCES)
    merged.update(overrides or {})
    return merged


class ResourceIndex:
    """Lookups over a fixed set of resources: by URL, by kind, and for discovery by group."""

    def __init__(self, resources: Iterable[ResourceDef]) -> None:
        self.all = tuple(resources)
        self._by_path = {(r.group, r.version, r.plural): r for r in self.all}
        self._by_kind: dict[str, list[ResourceDef]] = {}
        for r in self.all:
            self._by_kind.setdefault(r.kind, []).append(r)

    def by_path(self, group: str, version: str, plural: str) -> ResourceDef | None:
        """The resource served at `/apis/{group}/{version}/{plural}` (or `/api/v1/...`)."""
        return self._by_path.get((group, version, plural))

    def for_object(self, obj: Mapping[str, Any]) -> ResourceDef:
        """The resource an object belongs to, by kind; the group of `apiVersion` breaks ties.

        The version is not matched on purpose: one fixture serves any release's group/version, and
        its objects are re-stamped with the version the resource is served at.
        """
        kind = obj.get("kind")
        candidates = self._by_kind.get(kind, []) if isinstance(kind, str) else []
        if not candidates:
            raise ValueError(f"no served resource has kind {kind!r} (object {_describe(obj)})")
        api_version = str(obj.get("apiVersion", ""))
        group = api_version.rpartition("/")[0]
        for r in candidates:
            if r.group == group:
                return r
        return candidates[0]

    def groups(self) -> dict[str, list[str]]:
        """Served groups in first-seen order, each with its versions (newest first, as listed)."""
        out: dict[str, list[str]] = {}
        for r in self.all:
            versions = out.setdefault(r.group, [])
            if r.version not in versions:
                versions.append(r.version)
        for versions in out.values():
            versions.sort(key=version_priority, reverse=True)
        return out

    def in_group_version(self, group: str, version: str) -> list[ResourceDef]:
        """Every resource served under one group/version."""
        return [r for r in self.all if r.group == group and r.version == version]


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' version ordering: GA above beta above alpha, then by number."""
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if m is None:
        return (0, 0, 0)
    stage = {"alpha": 1, "beta": 2, None: 3}[m.group(2)]
    return (stage, int(m.group(1)), int(m.group(3) or 0))


def _describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '?')}"
