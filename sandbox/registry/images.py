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


def make_oci_layout(directory: Path, *, layers: int = 2, layer_size: int = 64 * 1024, seed: int = 1) -> Path:
    """Write an OCI image layout with one image to directory: `layers` gzipped tar layers of
    `layer_size` random bytes each (from `seed`: same seed, same digests), a config and a manifest.
    Returns directory, ready for `oci:DIRECTORY` in skopeo."""
    rng = random.Random(seed)
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    layer_descs: list[dict[str, Any]] = []
    diff_ids: list[str] = []
    for index in range(layers):
        tar = _layer_tar(index, rng.randbytes(layer_size))
        diff_ids.append(_digest(tar))
        layer_descs.append({"mediaType": LAYER_TYPE, **_write_blob(blobs, gzip.compress(tar, mtime=0))})
    config = {
        "created": "2024-01-01T00:00:00Z",
        "architecture": "amd64",
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
    manifest_desc = {"mediaType": MANIFEST_TYPE, **_write_blob(blobs, json.dumps(manifest).encode())}
    image_index = {"schemaVersion": 2, "manifests": [manifest_desc]}
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (directory / "index.json").write_text(json.dumps(image_index))
    return directory


def layout_manifest(layout: Path) -> dict[str, Any]:
    """The index.json entry of the (first) image in an OCI layout: mediaType, digest, size."""
    index = json.loads((layout / "index.json").read_text())
    entry: dict[str, Any] = index["manifests"][0]
    return entry


def layout_blobs(layout: Path) -> list[str]:
    """The digests of the config and layer blobs of the layout's image."""
    digest = str(layout_manifest(layout)["digest"])
    manifest = json.loads((layout / "blobs" / "sha256" / digest.removeprefix("sha256:")).read_text())
    return [manifest["config"]["digest"], *(layer["digest"] for layer in manifest["layers"])]


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
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise SkopeoError(argv, proc.returncode or 0, err.decode(errors="replace"))
    return out.decode(errors="replace")


async def push(layout: Path, registry: Registry, reference: str) -> None:
    """`skopeo copy` the layout's image to ADDRESS/REFERENCE ("repo:tag") with the registry's creds."""
    await skopeo(
        "copy",
        "--dest-tls-verify=false",
        "--dest-creds",
        f"{registry.username}:{registry.password}",
        f"oci:{layout}",
        f"docker://{registry.address}/{reference}",
    )


async def pull(registry: Registry, reference: str, layout: Path, *, creds: str | None = None) -> None:
    """`skopeo copy` ADDRESS/REFERENCE into an OCI layout; creds "user:password" default to the registry's."""
    await skopeo(
        "copy",
        "--src-tls-verify=false",
        "--src-creds",
        creds or f"{registry.username}:{registry.password}",
        f"docker://{registry.address}/{reference}",
        f"oci:{layout}",
    )
