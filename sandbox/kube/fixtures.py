"""ACP fixtures: the hand-written sample, loading fixture files, and generated large fixtures."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .defaults import KubeObject
from .generator import generate_operator_views, generate_plugin_views
from .resources import DEFAULT_RESOURCES, ResourceDef, merge_resources, resource_from_mapping

SAMPLE_FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "acp-sample.yaml"
"""The global cluster of an ACP 4.2 installation with two business clusters and every edge case."""
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML has it: each sandbox reads the sample, ten times faster."""

SAMPLE_REGISTRY = "127.0.0.1:11440"
"""The platform registry that the sample's images come from."""

_ACP_KINDS = frozenset({"OperatorView", "ModulePluginView"})


@dataclass(frozen=True)
class Fixture:
    """Objects to serve, and where the fixture serves resources that differ from the defaults."""

    resources: Mapping[str, ResourceDef] = field(default_factory=lambda: merge_resources(None))
    """Every resource to serve, keyed by plural: the defaults with the fixture's `resources:` applied."""
    objects: tuple[KubeObject, ...] = ()

    def of_kind(self, kind: str) -> list[KubeObject]:
        """The objects of one kind, in fixture order."""
        return [o for o in self.objects if o.get("kind") == kind]


def load_fixture(path: str | Path = SAMPLE_FIXTURE, *, registry: str | None = None) -> Fixture:
    """Read a YAML or JSON fixture: `{resources: {...}, items: [...]}`, a `List`, or bare objects.

    With `registry`, image references to the sample's platform registry point there instead.
    """
    resources: dict[str, ResourceDef] = {}
    objects: list[KubeObject] = []
    for doc in yaml.load_all(Path(path).read_text(encoding="utf-8"), Loader=_SAFE_LOADER):
        if doc is None:
            continue
        if isinstance(doc, list):
            objects.extend(doc)
            continue
        for plural, spec in (doc.get("resources") or {}).items():
            resources[plural] = resource_from_mapping(plural, spec, DEFAULT_RESOURCES.get(plural))
        if "items" in doc:
            objects.extend(doc["items"] or [])
        elif "kind" in doc:
            objects.append(doc)
    if registry is not None:
        objects = [_rehome_images(o, f"{SAMPLE_REGISTRY}/", f"{registry}/") for o in objects]
    return Fixture(merge_resources(resources), tuple(objects))


def without_empty_channels(fixture: Fixture) -> Fixture:
    """The fixture minus operators whose `channels` list is empty, on which kubectl's command stops."""
    return replace(fixture, objects=tuple(o for o in fixture.objects if not _has_empty_channels(o)))


def generate_fixture(operators: int, clusters: int, plugins: int, seed: int = 1) -> Fixture:
    """The sample's nodes and pods plus `operators` OperatorViews over `clusters` clusters and
    `plugins` ModulePluginViews, with varied realistic names; kubectl's commands work on all of it."""
    sample = load_fixture()
    base = [o for o in sample.objects if o.get("kind") not in _ACP_KINDS]
    cluster_names = _cluster_names(clusters)
    views = generate_operator_views(operators, cluster_names, seed)
    views += generate_plugin_views(plugins, cluster_names, seed)
    return Fixture(sample.resources, tuple(base + views))


LEAN_VIEWS = frozenset(
    {
        # operators: with workloads in the sample (clickhouse in two clusters at two versions,
        # envoy-gateway's package named without a version), without an installed CSV (tektoncd),
        # and a package named by architecture (kubevirt-operator)
        "clickhouse-operator",
        "envoy-gateway-operator",
        "tektoncd-operator",
        "kubevirt-operator",
        # plugins: one a ModulePlugin object names (capi-provider-aws), one pushing an image outside
        # the platform's namespaces (kubevirt), a hybrid package (volcano), a core one (no package)
        "capi-provider-aws",
        "kubevirt",
        "volcano",
        "cert-manager",
    }
)
"""The operators and plugins `lean_sample` keeps, by name."""


def lean_sample() -> Fixture:
    """The sample with only the operators and plugins in `LEAN_VIEWS`: 10 packages of 23 images
    instead of 28 of 59, every workload and node kept. For the tests whose checks do not depend on
    the sample's operators and plugins (the gates, the purge, approvals, restarts, a versioned
    bucket, a registry cache): each `violet show` of a preflight and each image of a restore costs
    CPU, and a restore of the whole sample about 15 CPU-seconds. The demo and the inventory and
    package tests run the whole sample."""
    sample = load_fixture()
    kept = [
        o
        for o in sample.objects
        if o.get("kind") not in _ACP_KINDS or (o.get("metadata") or {}).get("name") in LEAN_VIEWS
    ]
    return Fixture(sample.resources, tuple(kept))


def installed_operators(fixture: Fixture) -> list[KubeObject]:
    """The OperatorViews whose phase is `Installed`: the rows the runbook keeps."""
    return [
        o
        for o in fixture.of_kind("OperatorView")
        if _dig(o, "status", "operatorStatus", "phase") == "Installed"
    ]


def listed_plugins(fixture: Fixture) -> list[KubeObject]:
    """The ModulePluginViews the runbook keeps: lifecycle agnostic (also missing or empty) or aligned."""
    out = []
    for o in fixture.of_kind("ModulePluginView"):
        lifecycle = ((o.get("metadata") or {}).get("labels") or {}).get(
            "cpaas.io/lifecycle-type"
        ) or "agnostic"
        if lifecycle in ("agnostic", "aligned"):
            out.append(o)
    return out


def _cluster_names(count: int) -> list[str]:
    envs = ("prod", "uat", "dev", "test", "dr", "edge")
    regions = ("bj", "sh", "gz", "sz", "cd", "wh", "hz", "xa", "nj", "cq")
    names = ["global"]
    n = 0
    while len(names) < count:
        env, region = envs[n % len(envs)], regions[(n // len(envs)) % len(regions)]
        names.append(f"{env}-{region}-{n // (len(envs) * len(regions)) + 1:02d}")
        n += 1
    return names[:count]


def _has_empty_channels(obj: Mapping[str, Any]) -> bool:
    channels = _dig(obj, "status", "packageManifestStatus", "channels")
    return obj.get("kind") == "OperatorView" and isinstance(channels, list) and not channels


def _dig(obj: Mapping[str, Any], *path: str) -> Any:
    node: Any = obj
    for part in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def _rehome_images(node: Any, old: str, new: str) -> Any:
    if isinstance(node, str):
        return new + node[len(old) :] if node.startswith(old) else node
    if isinstance(node, Mapping):
        return {k: _rehome_images(v, old, new) for k, v in node.items()}
    if isinstance(node, Iterable) and not isinstance(node, bytes):
        return [_rehome_images(v, old, new) for v in node]
    return node
