"""The plugin packages of the installer directory (`/cpaas/installer/plugins`): one per operator
and plugin the fixture has installed, named the vendor's way (`NAME.ARCH.VERSION.tgz`, which
`violet` reads without unpacking), each a gzipped tar of its images' OCI layouts and a
`package.yaml` listing them."""

from __future__ import annotations

import io
import re
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import yaml

from .layouts import layout_files

EXTRA_PACKAGES = ("sriov-network-plugin.amd64.v4.3.7.tgz", "langflow.ALL.v1.6.4-1.tgz")
"""Packages of things the fixture does not install, as a real installer directory has them."""
MANIFEST = "package.yaml"
"""The file in each package that names it and lists its images."""

_CSV = re.compile(r"^(?P<name>.+?)\.(?P<version>v\d.*)$")
_PACKAGE = re.compile(r"^(?P<name>.+?)\.(?P<arch>amd64|arm64|ALL)\.(?P<version>v?\d.*)\.tgz$")
_KEPT_LIFECYCLES = ("agnostic", "aligned")
_BYTES: dict[tuple[str, tuple[str, ...]], bytes] = {}


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


def parse_package(file: str) -> dict[str, str]:
    """`name`, `arch` and `version` from a package's file name (only `name` when it does not parse)."""
    match = _PACKAGE.match(file)
    return match.groupdict() if match else {"name": file.removesuffix(".tgz")}


def default_image(file: str) -> str:
    """The one image of a package that no workload's image matches: `ait/NAME:VERSION` for an
    operator, `acp/NAME:VERSION` for a plugin."""
    fields = parse_package(file)
    namespace = "ait" if fields["name"].endswith("-operator") else "acp"
    return f"{namespace}/{fields['name']}:{fields.get('version', 'latest')}"


def package_images(file: str, workload_images: Iterable[str]) -> list[str]:
    """The images a package holds: the workloads' images named after it at its version (the
    operator's own image, `ait/clickhouse-operator:v4.2.0`), else its `default_image`."""
    fields = parse_package(file)
    names = {fields["name"], fields["name"].removesuffix("-operator")}
    found = sorted(
        image
        for image in workload_images
        if image.rpartition(":")[2] == fields.get("version")
        and image.rpartition(":")[0].rsplit("/", 1)[-1] in names
    )
    return found or [default_image(file)]


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


def package_bytes(file: str, images: Sequence[str] | None = None) -> bytes:
    """The package as a gzipped tar: `package.yaml` (name, arch, version, and each image with the
    directory of its OCI layout) and the layouts under `images/REPO/TAG/`. Without `images`, the
    package holds its `default_image`. Built once per process for the same file and images."""
    key = (file, tuple(images or [default_image(file)]))
    data = _BYTES.get(key)
    if data is None:
        data = _BYTES[key] = _build(file, key[1])
    return data


def _build(file: str, images: Sequence[str]) -> bytes:
    entries = [{"reference": ref, "layout": f"images/{_layout_path(ref)}"} for ref in images]
    manifest = yaml.safe_dump({**parse_package(file), "images": entries}, sort_keys=False).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        _add(tar, MANIFEST, manifest)
        for entry in entries:
            for rel, content in sorted(layout_files(entry["reference"]).items()):
                _add(tar, f"{entry['layout']}/{rel}", content)
    return buf.getvalue()


def _layout_path(reference: str) -> str:
    repo, _, tag = reference.rpartition(":")
    return f"{repo}/{tag}"


def _add(tar: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mtime = 0
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(content))
