"""The images the installer holds, as OCI layouts: the same images, digest for digest, as the
registry starts with (`sandbox.registry.seed`), so that a re-push after the purge meets the
registry's blob-descriptor cache exactly as a real restore would
(docs/architecture.md, "Verification").

Each image's layout is built once per process and kept as bytes; later sandboxes only write files.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox.registry.seed import build_layout

PROBE_IMAGE = "acp/core:latest"
"""The image the runbook pulls to check the core restore; `upload.sh` pushes it in both modes."""
CORE_NAMESPACES = ("acp/", "3rdparty/")
"""Workload images in these namespaces come with the installer's core, unless a package has them."""
NECESSARY_REPOSITORIES = ("acp/core", "3rdparty/registry", "3rdparty/minio")
"""What `upload.sh necessary` pushes: the images the platform needs to come up."""

_FILES: dict[str, dict[str, bytes]] = {}


@dataclass(frozen=True)
class InstallerImages:
    """Which image (`repo:tag`) the installer restores with which command."""

    core: tuple[str, ...]
    """`upload.sh all`: the probe image and the workloads' platform images no package has."""
    necessary: tuple[str, ...]
    """`upload.sh necessary`: a subset of `core`."""
    packages: Mapping[str, tuple[str, ...]]
    """`violet push FILE`: each package file's images."""


def plan_images(workload_images: Iterable[str], packages: Mapping[str, Iterable[str]]) -> InstallerImages:
    """Split the workloads' images between the core and the packages (`packages`: file -> images)."""
    in_packages = {ref for refs in packages.values() for ref in refs}
    core = sorted(
        {PROBE_IMAGE}
        | {ref for ref in workload_images if ref.startswith(CORE_NAMESPACES) and ref not in in_packages}
    )
    necessary = tuple(ref for ref in core if ref.rpartition(":")[0] in NECESSARY_REPOSITORIES)
    return InstallerImages(
        tuple(core), necessary, {file: tuple(refs) for file, refs in sorted(packages.items())}
    )


def layout_files(reference: str) -> Mapping[str, bytes]:
    """The files of the image's OCI layout: path relative to the layout -> content."""
    files = _FILES.get(reference)
    if files is None:
        files = _FILES[reference] = _build(reference)
    return files


def write_layout(directory: Path, reference: str) -> Path:
    """Write the image's OCI layout into `directory` (for `skopeo copy oci:DIRECTORY`); returns it."""
    for rel, content in layout_files(reference).items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return directory


def _build(reference: str) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory(prefix="sandbox-layout-") as tmp:
        root = build_layout(Path(tmp), reference)
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}
