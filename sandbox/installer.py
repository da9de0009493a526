"""The installer directory on the first control-plane node (`/cpaas/installer`): for now its
`plugins/`, one package per operator and plugin the fixture has installed, named the vendor's way
(`NAME.ARCH.VERSION.tgz`, which `violet` reads without unpacking)."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

EXTRA_PACKAGES = ("sriov-network-plugin.amd64.v4.3.7.tgz", "langflow.ALL.v1.6.4-1.tgz")
"""Packages of things the fixture does not install, as a real installer directory has them."""

_CSV = re.compile(r"^(?P<name>.+?)\.(?P<version>v\d.*)$")
_PACKAGE = re.compile(r"^(?P<name>.+?)\.(?P<arch>amd64|arm64|ALL)\.(?P<version>v?\d.*)\.tgz$")
_KEPT_LIFECYCLES = ("agnostic", "aligned")


def package_files(objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """File names covering the fixture: every operator at its installed CSV (at its channel's current
    CSV while none is installed), every agnostic or aligned plugin at each installed version."""
    names: set[str] = set(EXTRA_PACKAGES)
    for obj in objects:
        if obj.get("kind") == "OperatorView":
            package = _operator_package(obj)
        elif obj.get("kind") == "ModulePluginView":
            names.update(_plugin_packages(obj))
            continue
        else:
            continue
        if package is not None:
            names.add(package)
    return sorted(names)


def _operator_package(view: Mapping[str, Any]) -> str | None:
    status = view.get("status") or {}
    installation = (status.get("operatorStatus") or {}).get("installation") or {}
    channels = (status.get("packageManifestStatus") or {}).get("channels") or [{}]
    csv = (installation.get("subscription") or {}).get("installedCSV") or channels[0].get("currentCSV")
    match = _CSV.match(csv or "")
    if match is None:
        return None
    return f"{installation.get('artifactName') or match['name']}.amd64.{match['version']}.tgz"


def _plugin_packages(view: Mapping[str, Any]) -> list[str]:
    labels = (view.get("metadata") or {}).get("labels") or {}
    module = labels.get("cpaas.io/module-name")
    if not module or (labels.get("cpaas.io/lifecycle-type") or "agnostic") not in _KEPT_LIFECYCLES:
        return []
    installed = (view.get("status") or {}).get("installed") or []
    return [f"{module}.ALL.{i['version']}.tgz" for i in installed if i.get("version")]


def package_bytes(file: str) -> bytes:
    """A small gzipped tar standing in for the package: its `package.yaml` names it."""
    match = _PACKAGE.match(file)
    fields = match.groupdict() if match else {"name": file.removesuffix(".tgz")}
    manifest = yaml.safe_dump(fields).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("package.yaml")
        info.size = len(manifest)
        info.mtime = 0
        tar.addfile(info, io.BytesIO(manifest))
    return buf.getvalue()


def write_installer(installer_dir: Path, objects: Iterable[Mapping[str, Any]]) -> list[str]:
    """Create `installer_dir/plugins` with the packages covering the fixture; returns their names."""
    plugins = installer_dir / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    files = package_files(objects)
    for file in files:
        (plugins / file).write_bytes(package_bytes(file))
    return files
