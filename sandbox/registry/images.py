"""Small, valid OCI image layouts built in pure Python, and pushing them with skopeo."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import json
import random
import shutil
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registry import Registry

MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
INDEX_TYPE = "application/vnd.oci.image.index.v1+json"
CONFIG_TYPE = "application/vnd.oci.image.config.v1+json"
LAYER_TYPE = "application/vnd.oci.image.layer.v1.tar+gzip"


class SkopeoError(RuntimeError):
    """skopeo exited non-zero; the message carries its stderr."""

    def __init__(self, argv: list[str], returncode: int, stderr: str) -> None:
        super().__init__(f"skopeo exited with {returncode}: {stderr.strip()}")
        self.argv = argv
        self.returncode = returncode
        self.stderr = stderr


def skopeo_binary() -> str | None:
    return shutil.which("skopeo")


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _write_blob(blobs: Path, data: bytes) -> dict[str, Any]:
    digest = _digest(data)
    (blobs / digest.removeprefix("sha256:")).write_bytes(data)
    return {"digest": digest, "size": len(data)}


def _layer_tar(index: int, content: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(f"data/layer-{index}.bin")
        info.size = len(content)
        info.mtime = 0
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def _write_image(
    blobs: Path, rng: random.Random, *, layers: int, layer_size: int, seed: int, arch: str = "amd64"
) -> dict[str, Any]:
    """Write one image's layers, config and manifest blobs; returns the manifest's descriptor."""
    layer_descs: list[dict[str, Any]] = []
    diff_ids: list[str] = []
    for index in range(layers):
        tar = _layer_tar(index, rng.randbytes(layer_size))
        diff_ids.append(_digest(tar))
        layer_descs.append({"mediaType": LAYER_TYPE, **_write_blob(blobs, gzip.compress(tar, mtime=0))})
    config = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": arch,
        "os": "linux",
        "config": {"Labels": {"sandbox.seed": str(seed)}},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    config_desc = {"mediaType": CONFIG_TYPE, **_write_blob(blobs, json.dumps(config).encode())}
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_TYPE,
        "config": config_desc,
        "layers": layer_descs,
    }
    return {"mediaType": MANIFEST_TYPE, **_write_blob(blobs, json.dumps(manifest).encode())}


def _write_layout(directory: Path, entry: dict[str, Any]) -> Path:
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [entry]}))
    return directory


def make_oci_layout(directory: Path, *, layers: int = 2, layer_size: int = 64 * 1024, seed: int = 1) -> Path:
    """Write an OCI image layout with one image to directory: `layers` gzipped tar layers of
    `layer_size` random bytes each (from `seed`: same seed, same digests), a config and a manifest.
    Returns directory, ready for `oci:DIRECTORY` in skopeo."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    manifest = _write_image(blobs, random.Random(seed), layers=layers, layer_size=layer_size, seed=seed)
    return _write_layout(directory, manifest)


def make_oci_index_layout(
    directory: Path,
    *,
    architectures: tuple[str, ...] = ("amd64", "arm64"),
    layers: int = 2,
    layer_size: int = 16 * 1024,
    seed: int = 1,
) -> Path:
    """Write an OCI layout whose image is a multi-platform index: one linux image per architecture,
    each with its own layers. Push it with `push(..., all_platforms=True)` (`skopeo copy --all`)."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    manifests = []
    for arch in architectures:
        desc = _write_image(blobs, rng, layers=layers, layer_size=layer_size, seed=seed, arch=arch)
        manifests.append({**desc, "platform": {"architecture": arch, "os": "linux"}})
    index = {"schemaVersion": 2, "mediaType": INDEX_TYPE, "manifests": manifests}
    return _write_layout(
        directory, {"mediaType": INDEX_TYPE, **_write_blob(blobs, json.dumps(index).encode())}
    )


def layout_manifest(layout: Path) -> dict[str, Any]:
    """The index.json entry of the (first) image in an OCI layout: mediaType, digest, size."""
    index = json.loads((layout / "index.json").read_text())
    entry: dict[str, Any] = index["manifests"][0]
    return entry


def _blob_json(layout: Path, digest: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_text()
    )
    return data


def platform_manifests(layout: Path) -> list[dict[str, Any]]:
    """The descriptors of the layout's image manifests: the one image, or every platform of an index."""
    entry = layout_manifest(layout)
    if entry["mediaType"] == INDEX_TYPE:
        return list(_blob_json(layout, str(entry["digest"]))["manifests"])
    return [entry]


def layout_blobs(layout: Path) -> list[str]:
    """The digests of the config and layer blobs of the layout's image (of every platform of an index)."""
    digests: list[str] = []
    for entry in platform_manifests(layout):
        manifest = _blob_json(layout, str(entry["digest"]))
        digests += [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]
    return digests


async def skopeo(*args: str) -> str:
    """Run `skopeo --insecure-policy ARGS…`; returns stdout, raises SkopeoError on failure."""
    binary = skopeo_binary()
    if binary is None:
        raise RuntimeError("skopeo is not installed (Debian package skopeo)")
    argv = [binary, "--insecure-policy", *args]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await proc.communicate()
    except asyncio.CancelledError:
        # A sibling failed or the test ended: no skopeo may outlive the task that ran it.
        proc.kill()
        await proc.wait()
        raise
    if proc.returncode != 0:
        raise SkopeoError(argv, proc.returncode or 0, err.decode(errors="replace"))
    return out.decode(errors="replace")


async def push(layout: Path, registry: Registry, reference: str, *, all_platforms: bool = False) -> None:
    """`skopeo copy` the layout's image to ADDRESS/REFERENCE ("repo:tag") with the registry's creds
    (trusting its CA over HTTPS); `all_platforms` copies a whole index (`--all`) instead of the one
    platform skopeo would pick."""
    await skopeo(
        "copy",
        *(["--all"] if all_platforms else []),
        *registry.skopeo_tls("dest"),
        "--dest-creds",
        f"{registry.username}:{registry.password}",
        f"oci:{layout}",
        f"docker://{registry.address}/{reference}",
    )


async def pull(registry: Registry, reference: str, layout: Path, *, creds: str | None = None) -> None:
    """`skopeo copy` ADDRESS/REFERENCE into an OCI layout; creds "user:password" default to the registry's."""
    await skopeo(
        "copy",
        *registry.skopeo_tls("src"),
        "--src-creds",
        creds or f"{registry.username}:{registry.password}",
        f"docker://{registry.address}/{reference}",
        f"oci:{layout}",
    )
