"""A MinIO data directory (single drive) holding a docker registry's `registry` bucket, made up.

MinIO keeps each object as a directory named after its key, holding `xl.meta`; small objects are
inline in it, larger ones add `<data-dir uuid>/part.1`. The registry's keys are long
(`docker/registry/v2/repositories/<repo>/_manifests/tags/<tag>/index/sha256/<digest>/link`), so
many paths pass 100 characters and GNU tar writes extra long-name headers for them.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

V2 = "registry/docker/registry/v2"
REPOSITORIES = (
    "acp/core",
    "alauda/registry",
    "alauda/archon",
    "alauda/cluster-transformer-operator",
    "ait/chart-alauda-container-platform",
    "3rdparty/library/nginx",
    "3rdparty/kube-state-metrics/kube-state-metrics",
    "tkestack/tke-platform-controller",
)
SYSTEM_FILES = (
    ".minio.sys/pool.bin",
    ".minio.sys/config/config.json/xl.meta",
    ".minio.sys/config/iam/format.json/xl.meta",
    ".minio.sys/buckets/.usage.json/xl.meta",
    ".minio.sys/buckets/.bloomcycle.bin/xl.meta",
    ".minio.sys/buckets/registry/.metadata.bin/xl.meta",
    ".minio.sys/buckets/registry/.usage-cache.bin/xl.meta",
)
EMPTY_DIRS = (".minio.sys/tmp/.trash", ".minio.sys/multipart")
_XL_HEADER = b"XL2 \x01\x00\x03\x00"
_POOL_SIZE = 1 << 20


@dataclass(frozen=True)
class TreeStats:
    """What `find DIR | wc -l` and a sum of file sizes say about a directory tree."""

    entries: int
    """The top directory, every directory and every file under it (tar lists as many entries)."""
    bytes: int
    """The sum of regular file sizes."""
    files: int
    """The number of regular files."""


def populate_minio(
    directory: Path,
    *,
    small_files: int = 2000,
    large_files: int = 4,
    large_size: int = 8 * 2**20,
    seed: int = 1,
) -> TreeStats:
    """Fill `directory` with a registry bucket of `small_files + large_files` files, the same for a seed.

    Small files are xl.meta files of 300 B to 4 KiB (links, manifests, configs, small layers, and
    the xl.meta of each large object); the large ones are `part.1` files of `large_size` bytes.
    """
    if small_files < large_files + 1:
        raise ValueError("small_files must cover format.json and one xl.meta per large object")
    tree = _Tree(directory, random.Random(seed))
    tree.system()
    for _ in range(large_files):
        tree.large_object(f"{V2}/blobs/{_blob_key(tree.digest())}", large_size)
    for path, size in itertools.islice(_small_objects(tree), small_files - 1 - large_files):
        tree.xl_meta(path, size)
    return tree_stats(directory)


def populate_minio_bytes(directory: Path, *, total_bytes: int, files: int, seed: int = 1) -> TreeStats:
    """Fill `directory` with exactly `files` files and `total_bytes` bytes (e.g. 1 GiB in 10,000).

    Besides format.json there are layer objects, each an xl.meta plus a part.1 that share the
    bytes evenly; an odd file count adds one inline object. Content is a cheap rotated random pool.
    """
    if files < 3 or total_bytes < files * 1024:
        raise ValueError("need at least 3 files and 1 KiB per file")
    tree = _Tree(directory, random.Random(seed))
    tree.format_json()
    pairs, odd = divmod(files - 1, 2)
    if odd:
        tree.xl_meta(f"{V2}/blobs/{_blob_key(tree.digest())}", 512)
    meta = 512
    parts = total_bytes - tree.written - pairs * meta
    base, extra = divmod(parts, pairs)
    for i in range(pairs):
        tree.large_object(f"{V2}/blobs/{_blob_key(tree.digest())}", base + (i < extra), meta_size=meta)
    assert tree.written == total_bytes
    return tree_stats(directory)


STAGING = (".minio.sys/tmp", ".minio.sys/tmp-old")
"""What MinIO discards at start, and so a backup leaves out (as regclean's actions/backup_live.py says)."""


def tree_stats(directory: Path, *, leave_out: tuple[str, ...] = ()) -> TreeStats:
    """Count entries, regular files and their bytes under `directory`, without following links,
    leaving out the paths (relative to it) in `leave_out` with what they hold."""
    entries, size, files = 1, 0, 0
    pending = [os.fspath(directory)]
    skip = {os.path.join(directory, rel) for rel in leave_out}
    while pending:
        with os.scandir(pending.pop()) as listing:
            for entry in listing:
                if entry.path in skip:
                    continue
                entries += 1
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.is_file(follow_symlinks=False):
                    files += 1
                    size += entry.stat(follow_symlinks=False).st_size
    return TreeStats(entries=entries, bytes=size, files=files)


class _Tree:
    """Writes files under one directory from one random generator, counting the bytes."""

    def __init__(self, root: Path, rng: random.Random) -> None:
        self.root = root
        self.rng = rng
        self.written = 0
        self._pool = memoryview(rng.randbytes(_POOL_SIZE))
        root.mkdir(parents=True, exist_ok=True)

    def digest(self) -> str:
        return self.rng.randbytes(32).hex()

    def write(self, rel: str, data: bytes) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.written += len(data)

    def format_json(self) -> None:
        ids = uuid.UUID(int=self.rng.getrandbits(128)), uuid.UUID(int=self.rng.getrandbits(128))
        doc = {
            "version": "1",
            "format": "xl-single",
            "id": str(ids[0]),
            "xl": {
                "version": "3",
                "this": str(ids[1]),
                "sets": [[str(ids[1])]],
                "distributionAlgo": "SIPMOD+PARITY",
            },
        }
        self.write(".minio.sys/format.json", json.dumps(doc).encode())

    def system(self) -> None:
        self.format_json()
        for rel in EMPTY_DIRS:
            (self.root / rel).mkdir(parents=True, exist_ok=True)

    def xl_meta(self, object_path: str, size: int) -> None:
        """An object's metadata file; small objects carry their data inline in it."""
        body = self.rng.randbytes(max(0, size - len(_XL_HEADER)))
        self.write(f"{object_path}/xl.meta", _XL_HEADER + body)

    def large_object(self, object_path: str, size: int, *, meta_size: int | None = None) -> None:
        """An object too large to inline: xl.meta plus `<data dir>/part.1` of `size` bytes."""
        self.xl_meta(object_path, meta_size or self.rng.randint(450, 700))
        data_dir = uuid.UUID(int=self.rng.getrandbits(128))
        path = self.root / object_path / str(data_dir) / "part.1"
        path.parent.mkdir(parents=True, exist_ok=True)
        pos = self.rng.randrange(_POOL_SIZE)  # a rotated pool: distinct per file, and cheap
        with path.open("wb") as out:
            remaining = size
            while remaining:
                n = min(remaining, _POOL_SIZE - pos)
                out.write(self._pool[pos : pos + n])
                remaining -= n
                pos = 0
        self.written += size


def _small_objects(tree: _Tree) -> Iterator[tuple[str, int]]:
    """(object path, xl.meta size) of the bucket's small objects, image after image, endlessly."""
    rng = tree.rng
    yield from ((rel.removesuffix("/xl.meta"), rng.randint(300, 2048)) for rel in SYSTEM_FILES)
    for n in itertools.count():
        repo = f"{V2}/repositories/{REPOSITORIES[n % len(REPOSITORIES)]}"
        tag = f"v4.{n // len(REPOSITORIES) % 3}.{n}"
        manifest, config = tree.digest(), tree.digest()
        layers = [tree.digest() for _ in range(rng.randint(2, 5))]
        yield f"{V2}/blobs/{_blob_key(manifest)}", rng.randint(1200, 4096)
        yield f"{V2}/blobs/{_blob_key(config)}", rng.randint(900, 4096)
        for layer in layers:
            yield f"{V2}/blobs/{_blob_key(layer)}", rng.randint(600, 4096)
        link = rng.randint(380, 520)
        yield f"{repo}/_manifests/revisions/sha256/{manifest}/link", link
        yield f"{repo}/_manifests/tags/{tag}/current/link", link
        yield f"{repo}/_manifests/tags/{tag}/index/sha256/{manifest}/link", link
        for blob in (config, *layers):
            yield f"{repo}/_layers/sha256/{blob}/link", link


def _blob_key(digest: str) -> str:
    return f"sha256/{digest[:2]}/{digest}/data"
