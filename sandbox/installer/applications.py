"""What `violet list` lists: the operators and the Aligned or Agnostic cluster plugins installed,
read from the fixture's OperatorViews and ModulePluginViews as the platform's API answers them
(Alauda's documentation, "violet list"). The stand-in reads them from its platform answer
(`violet.write_config`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

_CSV_VERSION = ".v"
_KEPT_LIFECYCLES = ("agnostic", "aligned")


def installed_applications(objects: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """`name: {displayName, type, installed: [{clusterName, version}]}`, as `violet list` prints it:
    operators (`OperatorBundle`, version without `v`) and plugins (`ModulePlugin`, version as installed)."""
    apps: dict[str, dict[str, Any]] = {}
    for obj in objects:
        if obj.get("kind") == "OperatorView":
            _operator(obj, apps)
        elif obj.get("kind") == "ModulePluginView":
            _plugin(obj, apps)
    return {name: apps[name] for name in sorted(apps)}


def _operator(view: Mapping[str, Any], apps: dict[str, dict[str, Any]]) -> None:
    status = view.get("status") or {}
    operator = status.get("operatorStatus") or {}
    installation = operator.get("installation") or {}
    csv = (installation.get("subscription") or {}).get("installedCSV") or ""
    if operator.get("phase") != "Installed" or _CSV_VERSION not in csv:
        return
    name = installation.get("artifactName") or csv.split(_CSV_VERSION, 1)[0]
    channels = (status.get("packageManifestStatus") or {}).get("channels") or [{}]
    display = (channels[0].get("currentCSVDesc") or {}).get("displayName") or name
    app = apps.setdefault(name, {"displayName": display, "type": "OperatorBundle", "installed": []})
    cluster = (view.get("metadata") or {}).get("namespace")
    app["installed"].append({"clusterName": cluster, "version": csv.split(_CSV_VERSION, 1)[1]})


def _plugin(view: Mapping[str, Any], apps: dict[str, dict[str, Any]]) -> None:
    metadata = view.get("metadata") or {}
    labels = metadata.get("labels") or {}
    module = labels.get("cpaas.io/module-name")
    installed = (view.get("status") or {}).get("installed") or []
    if (
        not module
        or not installed
        or (labels.get("cpaas.io/lifecycle-type") or "agnostic") not in _KEPT_LIFECYCLES
    ):
        return
    annotation = (metadata.get("annotations") or {}).get("cpaas.io/display-name") or ""
    try:
        display = json.loads(annotation).get("en") or module
    except (ValueError, AttributeError):
        display = annotation or module
    apps[module] = {
        "displayName": display,
        "type": "ModulePlugin",
        "installed": [{"clusterName": i.get("cluster"), "version": i.get("version")} for i in installed],
    }
