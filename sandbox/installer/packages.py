"""The plugin packages of the installer directory (`/cpaas/installer/plugins`): one per operator
and plugin the fixture has installed, named as Alauda ships them (`topolvm-operator.v2.3.0.tgz`,
`cilium-v4.2.17.tgz`, `plugins-cloudedge-v0.3.16-hybrid.tgz`, `envoy-gateway-operator.tgz`,
`kubernetes-nmstate-operator.alpha.amd64.v4.1.4.tgz`). A file name says nothing reliable: a
package's identity is inside it, in its manifest (`package.yaml`: Name, Type, Arch, Version,
Artifact, RelateImages), which `violet show` prints. Each package is a gzipped tar of that
manifest (first, so `violet show` reads only it) and the OCI layouts of its images.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from .layouts import layout_files

PACKAGE_REGISTRY = "build-harbor.alauda.cn"
"""The registry host baked into a package's image references, as `violet show --all` prints them;
`violet push` pushes each image to the platform's registry under the same path."""
MANIFEST = "package.yaml"
"""The file in each package that holds its identity and lists its images."""
BUNDLE, PLUGIN = "bundle", "moduleplugin"
"""`Type:` of an operator's package (documented) and of a cluster plugin's (assumed; the docs show no
plugin's `violet show`)."""


@dataclass(frozen=True)
class PackageSpec:
    """One package: its file name and what `violet show --all` prints for it."""

    file: str
    name: str
    """`Name:`, the display name (`NativeStor` for `topolvm-operator.v2.3.0.tgz`)."""
    type: str
    arch: tuple[str, ...]
    version: str
    """`Version:`: an operator's CSV version without its `v` (`2.3.0`), a plugin's as installed (`v4.2.3`)."""
    artifact: str
    """`repo:tag` of the bundle (operator) or chart (plugin), without the registry host."""
    relate_images: tuple[str, ...]
    """`repo:tag` of the images it pushes besides the artifact, without the registry host."""

    @property
    def images(self) -> tuple[str, ...]:
        """Everything `violet push` pushes: the artifact, then the related images."""
        return (self.artifact, *self.relate_images)


TOPOLVM = PackageSpec(
    "topolvm-operator.v2.3.0.tgz",
    "NativeStor",
    BUNDLE,
    ("linux/amd64",),
    "2.3.0",
    "acp/topolvm-operator-bundle:v3.11.0",
    ("acp/topolvm-operator:v3.11.0", "acp/topolvm:v3.11.0", "3rdparty/k8scsi/csi-provisioner:v3.00"),
)
"""The documentation's own `violet show` example, a package of something the fixture does not install."""
CILIUM = PackageSpec(
    "cilium-v4.2.17.tgz", "Alauda Container Platform Networking for Cilium", PLUGIN, ("linux/amd64",),
    "v4.2.17", "acp/chart-cilium:v4.2.17", ("acp/cilium:v4.2.17",),
)  # fmt: skip
EXTRA_PACKAGES = (TOPOLVM, CILIUM)
"""Packages of things the fixture does not install, as a real installer directory has them."""
RELATED_ELSEWHERE = {"kubevirt": ("kubevirt/virt-handler:v1.4.0",)}
"""Images a package pushes outside the platform's namespaces: only what `violet show` says covers them."""
_NAMING = {
    "envoy-gateway-operator": "{name}.tgz",
    "kubevirt-operator": "{name}.alpha.amd64.{version}.tgz",
    "volcano": "plugins-{name}-{version}-hybrid.tgz",
}
"""File-name styles as shipped; an operator is otherwise `NAME.vX.Y.Z.tgz`, a plugin `NAME-vX.Y.Z.tgz`."""
_CSV = re.compile(r"^(?P<name>.+?)\.(?P<version>v\d.*)$")
_KEPT_LIFECYCLES = ("agnostic", "aligned")
_BYTES: dict[PackageSpec, bytes] = {}


def package_specs(objects: Iterable[Mapping[str, Any]], workload_images: Iterable[str]) -> list[PackageSpec]:
    """Packages covering the fixture, by file name: every operator at its installed CSV (at its
    channel's current CSV while none is installed), every agnostic or aligned plugin at each
    installed version, and `EXTRA_PACKAGES`."""
    images = list(workload_images)
    specs = {spec.file: spec for spec in EXTRA_PACKAGES}
    for obj in objects:
        if obj.get("kind") == "OperatorView":
            found = _operator(obj, images)
            specs.update({found.file: found} if found else {})
        elif obj.get("kind") == "ModulePluginView":
            specs.update((spec.file, spec) for spec in _plugins(obj, images))
    return [specs[file] for file in sorted(specs)]


def operator_spec(
    artifact: str, version: str, display: str, workload_images: Iterable[str] = ()
) -> PackageSpec:
    """The package of an operator (`artifactName`) at a CSV version (`v4.2.0`)."""
    plain = version.removeprefix("v")
    file = _NAMING.get(artifact, "{name}.{version}.tgz").format(name=artifact, version=version)
    related = _related(artifact, version, workload_images) or (f"ait/{artifact}:{version}",)
    return PackageSpec(
        file, display, BUNDLE, ("linux/amd64",), plain, f"acp/{artifact}-bundle:v{plain}", related
    )


def plugin_spec(module: str, version: str, display: str, workload_images: Iterable[str] = ()) -> PackageSpec:
    """The package of a cluster plugin (`cpaas.io/module-name`) at a version (`v4.2.3`)."""
    file = _NAMING.get(module, "{name}-{version}.tgz").format(name=module, version=version)
    related = _related(module, version, workload_images) or (f"acp/{module}:{version}",)
    related += RELATED_ELSEWHERE.get(module, ())
    return PackageSpec(file, display, PLUGIN, ("linux/amd64", "linux/arm64"), version,
                       f"acp/chart-{module}:{version}", related)  # fmt: skip


def _related(name: str, version: str, workload_images: Iterable[str]) -> tuple[str, ...]:
    """The workloads' images (`repo:tag`) named after it at its version (`ait/clickhouse-operator:v4.2.0`)."""
    names = {name, name.removesuffix("-operator")}
    return tuple(
        sorted(
            image
            for image in workload_images
            if image.rpartition(":")[2] == version and image.rpartition(":")[0].rsplit("/", 1)[-1] in names
        )
    )


def _operator(view: Mapping[str, Any], images: Sequence[str]) -> PackageSpec | None:
    status = view.get("status") or {}
    installation = (status.get("operatorStatus") or {}).get("installation") or {}
    channels = (status.get("packageManifestStatus") or {}).get("channels") or [{}]
    csv = (installation.get("subscription") or {}).get("installedCSV") or channels[0].get("currentCSV")
    match = _CSV.match(csv or "")
    if match is None:
        return None
    artifact = installation.get("artifactName") or match["name"]
    display = (channels[0].get("currentCSVDesc") or {}).get("displayName") or artifact
    return operator_spec(artifact, match["version"], display, images)


def _plugins(view: Mapping[str, Any], images: Sequence[str]) -> list[PackageSpec]:
    metadata = view.get("metadata") or {}
    labels = metadata.get("labels") or {}
    module = labels.get("cpaas.io/module-name")
    if not module or (labels.get("cpaas.io/lifecycle-type") or "agnostic") not in _KEPT_LIFECYCLES:
        return []
    display = _display_name((metadata.get("annotations") or {}).get("cpaas.io/display-name"), module)
    installed = (view.get("status") or {}).get("installed") or []
    versions = sorted({i["version"] for i in installed if i.get("version")})
    return [plugin_spec(module, version, display, images) for version in versions]


def _display_name(annotation: str | None, fallback: str) -> str:
    try:
        names = json.loads(annotation or "")
    except ValueError:
        return annotation or fallback
    return str(names.get("en") or fallback) if isinstance(names, dict) else fallback


def package_bytes(spec: PackageSpec) -> bytes:
    """The package as a gzipped tar: `package.yaml` first, then each image's OCI layout under
    `images/REPO/TAG/`. Built once per process for the same spec."""
    data = _BYTES.get(spec)
    if data is None:
        data = _BYTES[spec] = _build(spec)
    return data


def manifest(spec: PackageSpec) -> dict[str, Any]:
    """The package's `package.yaml`: its identity, and where each image's layout is."""
    return {
        "name": spec.name,
        "type": spec.type,
        "arch": list(spec.arch),
        "version": spec.version,
        "artifact": f"{PACKAGE_REGISTRY}/{spec.artifact}",
        "relateImages": [f"{PACKAGE_REGISTRY}/{ref}" for ref in spec.relate_images],
        "images": [{"reference": ref, "layout": f"images/{_layout_path(ref)}"} for ref in spec.images],
    }


def _build(spec: PackageSpec) -> bytes:
    content = manifest(spec)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        _add(tar, MANIFEST, yaml.safe_dump(content, sort_keys=False).encode())
        for entry in content["images"]:
            for rel, data in sorted(layout_files(entry["reference"]).items()):
                _add(tar, f"{entry['layout']}/{rel}", data)
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
