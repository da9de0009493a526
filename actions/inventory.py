"""Runbook steps 1 and 2: record the installed operators and cluster plugins.

The rules are the runbook's, with one difference: nothing is silently lost. The
runbook's kubectl command stops at an operator whose channel list is empty; here such an
operator keeps its row with no display name, and everything left out by a rule is counted.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from actions.kube import JsonObject, KubeReader
from actions.slices import in_slices

OPERATORS = "operatorviews"
PLUGINS = "modulepluginviews"
INSTALLED = "Installed"
#: lifecycles the runbook keeps; a missing or empty label counts as agnostic
KEPT_LIFECYCLES = ("agnostic", "aligned")

MODULE_LABEL = "cpaas.io/module-name"
LIFECYCLE_LABEL = "cpaas.io/lifecycle-type"
DISPLAY_NAME_ANNOTATION = "cpaas.io/display-name"


@dataclass(frozen=True, slots=True)
class OperatorRow:
    """One installed operator, as the runbook's custom-columns command prints it."""

    cluster: str | None
    """The cluster, i.e. the operatorview's namespace."""
    name: str | None
    """The operatorview's name."""
    phase: str | None
    """`.status.operatorStatus.phase`; always `Installed` in an inventory."""
    artifact: str | None
    """`.status.operatorStatus.installation.artifactName`."""
    installed_csv: str | None
    """`...installation.subscription.installedCSV`; missing while a subscription waits or failed."""
    display_name: str | None
    """`.status.packageManifestStatus.channels[0].currentCSVDesc.displayName`; None without channels."""


@dataclass(frozen=True, slots=True)
class Installation:
    """A cluster where a plugin is installed, at a version."""

    cluster: str | None
    version: str | None


@dataclass(frozen=True, slots=True)
class PluginRow:
    """One agnostic or aligned cluster plugin."""

    module: str | None
    """Label `cpaas.io/module-name`."""
    lifecycle: str
    """`agnostic` or `aligned` (a missing or empty label counts as agnostic)."""
    installed: tuple[Installation, ...]
    """`.status.installed[]`; empty when the plugin is installed nowhere."""
    display_name: str | None
    """The English name from the `cpaas.io/display-name` annotation."""


@dataclass(frozen=True)
class Inventory:
    """Both inventories, and what the runbook's rules left out (counted, never dropped silently)."""

    operators: tuple[OperatorRow, ...]
    plugins: tuple[PluginRow, ...]
    operators_not_installed: int = 0
    """operatorviews seen whose phase is not `Installed`."""
    plugins_left_out: Mapping[str, int] = field(default_factory=dict)
    """lifecycle → count of plugins left out by the runbook's rule (`core`, unknown values)."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """plural → the `group/version` discovery found it at."""
    skipped: Mapping[str, str] = field(default_factory=dict)
    """`group/version` → what it answered: API groups that did not answer discovery and serve
    neither kind, skipped as kubectl skips them (e.g. `metrics.k8s.io/v1beta1` with its backend down)."""

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON shape: `{"operators": [...], "plugins": [...]}`."""
        return {"operators": list(self.operator_dicts()), "plugins": list(self.plugin_dicts())}

    def operator_dicts(self) -> Iterator[dict[str, Any]]:
        """The operators as JSON objects, one at a time."""
        for o in self.operators:
            yield {
                "cluster": o.cluster,
                "name": o.name,
                "phase": o.phase,
                "artifact": o.artifact,
                "installed_csv": o.installed_csv,
                "display_name": o.display_name,
            }

    def plugin_dicts(self) -> Iterator[dict[str, Any]]:
        """The plugins as JSON objects, one at a time."""
        for p in self.plugins:
            yield {
                "module": p.module,
                "lifecycle": p.lifecycle,
                "installed": [{"cluster": i.cluster, "version": i.version} for i in p.installed],
                "display_name": p.display_name,
            }

    def record_header(self) -> dict[str, Any]:
        """What a stored record holds besides the rows."""
        return {
            "operators_not_installed": self.operators_not_installed,
            "plugins_left_out": dict(self.plugins_left_out),
            "sources": dict(self.sources),
            "skipped": dict(self.skipped),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Inventory:
        """Rebuild an inventory from `as_dict()` output merged with `record_header()`."""
        return cls(
            operators=tuple(OperatorRow(**o) for o in record.get("operators", [])),
            plugins=tuple(
                PluginRow(
                    module=p["module"],
                    lifecycle=p["lifecycle"],
                    installed=tuple(Installation(**i) for i in p["installed"]),
                    display_name=p["display_name"],
                )
                for p in record.get("plugins", [])
            ),
            operators_not_installed=int(record.get("operators_not_installed", 0)),
            plugins_left_out=dict(record.get("plugins_left_out", {})),
            sources=dict(record.get("sources", {})),
            skipped=dict(record.get("skipped", {})),
        )


@dataclass(frozen=True)
class InventoryRequest:
    """How to record the inventory."""

    page_size: int = 500
    """Objects per list request; every page is read, following `continue` tokens."""


@dataclass(frozen=True)
class InventoryProgress:
    """How far the recording has come."""

    operators_seen: int
    plugins_seen: int
    recorded_at: datetime


Progress = Callable[[InventoryProgress], Awaitable[None]]


async def record_inventory(kube: KubeReader, request: InventoryRequest, progress: Progress) -> Inventory:
    """Record both inventories, reading every page of both kinds.

    API groups that do not answer discovery are skipped and named in `Inventory.skipped`, unless
    one of them must be where a kind is served (then discovery's error says which). Pages are
    turned into rows in slices on the event loop, so that a large inventory never holds the loop
    (and with it every Slack acknowledgement) for long.
    """
    discovery = await kube.discover([OPERATORS, PLUGINS])
    resources = discovery.resources
    operators: list[OperatorRow] = []
    plugins: list[PluginRow] = []
    not_installed = 0
    left_out: Counter[str] = Counter()
    seen_ops = seen_plugins = 0

    async for page in kube.list_pages(resources[OPERATORS], page_size=request.page_size):
        rows = await in_slices(operator_row(o) for o in page)
        installed = [r for r in rows if r.phase == INSTALLED]
        operators.extend(installed)
        not_installed += len(rows) - len(installed)
        seen_ops += len(page)
        await progress(InventoryProgress(seen_ops, seen_plugins, datetime.now(UTC)))

    async for page in kube.list_pages(resources[PLUGINS], page_size=request.page_size):
        for plugin in await in_slices(plugin_row(o) for o in page):
            if plugin.lifecycle in KEPT_LIFECYCLES:
                plugins.append(plugin)
            else:
                left_out[plugin.lifecycle] += 1
        seen_plugins += len(page)
        await progress(InventoryProgress(seen_ops, seen_plugins, datetime.now(UTC)))

    return Inventory(
        operators=tuple(operators),
        plugins=tuple(plugins),
        operators_not_installed=not_installed,
        plugins_left_out=dict(left_out),
        sources={plural: res.group_version for plural, res in resources.items()},
        skipped={f.group_version: f.problem for f in discovery.skipped},
    )


def operator_row(obj: JsonObject) -> OperatorRow:
    """The runbook's columns of one operatorview; a missing value is None, never an error."""
    meta = _mapping(obj.get("metadata"))
    status = _mapping(obj.get("status"))
    op_status = _mapping(status.get("operatorStatus"))
    installation = _mapping(op_status.get("installation"))
    channels = _mapping(status.get("packageManifestStatus")).get("channels")
    first_channel = _mapping(channels[0]) if isinstance(channels, list) and channels else {}
    return OperatorRow(
        cluster=_text(meta.get("namespace")),
        name=_text(meta.get("name")),
        phase=_text(op_status.get("phase")),
        artifact=_text(installation.get("artifactName")),
        installed_csv=_text(_mapping(installation.get("subscription")).get("installedCSV")),
        display_name=_text(_mapping(first_channel.get("currentCSVDesc")).get("displayName")),
    )


def plugin_row(obj: JsonObject) -> PluginRow:
    """The runbook's columns of one modulepluginview, with its lifecycle normalised."""
    meta = _mapping(obj.get("metadata"))
    labels = _mapping(meta.get("labels"))
    annotations = _mapping(meta.get("annotations"))
    installed = _mapping(obj.get("status")).get("installed")
    return PluginRow(
        module=_text(labels.get(MODULE_LABEL)),
        lifecycle=_text(labels.get(LIFECYCLE_LABEL)) or "agnostic",
        installed=tuple(
            Installation(cluster=_text(i.get("cluster")), version=_text(i.get("version")))
            for i in (installed if isinstance(installed, list) else [])
            if isinstance(i, Mapping)
        ),
        display_name=english_name(annotations.get(DISPLAY_NAME_ANNOTATION)),
    )


def english_name(annotation: object) -> str | None:
    """The `en` value of a display-name annotation; the raw text when it is not the usual JSON."""
    if not isinstance(annotation, str) or not annotation.strip():
        return None
    try:
        names = json.loads(annotation)
    except ValueError:
        return annotation
    if isinstance(names, Mapping):
        english = names.get("en")
        return english if isinstance(english, str) and english else annotation
    return annotation


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: object) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)
