"""One OCI image layout in an export store (docs/architecture.md, "Custom images"): `oci-layout`,
`index.json` with one entry per exported tag (annotation `org.opencontainers.image.ref.name` =
`repo:tag`), and every manifest, config and layer once under `blobs/sha256/<hex>`, byte for byte.

This is the layout of the OCI image spec (image-layout.md), so `skopeo copy oci:DIR:repo:tag …`
reads it too. A blob is streamed through its hash into a temporary file and renamed only when its
digest and size match; one already there is hashed again, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import AsyncIterable, Iterable
from contextlib import aclosing
from dataclasses import dataclass

from actions.errors import ExportError
from actions.export_store import ExportStore
from actions.oci import Descriptor, valid_digest

REF_NAME = "org.opencontainers.image.ref.name"
INDEX = "index.json"
LAYOUT_FILE = "oci-layout"
LAYOUT_VERSION = b'{"imageLayoutVersion":"1.0.0"}'
MAX_INDEX = 64 * 2**20
_ALPHANUM = r"[A-Za-z0-9]+"
_REF_COMPONENT = rf"{_ALPHANUM}(?:(?:[-._:@+]|--){_ALPHANUM})*"
_REF = re.compile(rf"{_REF_COMPONENT}(?:/{_REF_COMPONENT})*")
"""image-spec annotations.md: the grammar of `org.opencontainers.image.ref.name`."""


def valid_ref_name(name: str) -> bool:
    """Whether name may be an index.json entry's ref.name (`retail/order-service:1.0` may;
    `app:_x` or `a---b:1` may not, though the registry takes them)."""
    return _REF.fullmatch(name) is not None


def blob_path(digest: str) -> str:
    """Where the layout keeps a blob; only sha256, which distribution writes."""
    algorithm, _, hex_ = digest.partition(":")
    if algorithm != "sha256" or not valid_digest(digest):  # never a path out of the layout
        raise ExportError(f"{digest!r} is not a sha256 digest, which the export supports alone.")
    return f"blobs/sha256/{hex_}"


@dataclass(frozen=True)
class IndexEntry:
    """One tag in index.json: its top manifest (an index's, for a multi-arch image)."""

    ref_name: str
    """`repo:tag`."""
    media_type: str
    digest: str
    size: int

    @property
    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, self.size)


class BlobProblem(Exception):
    """A blob that is missing, of the wrong size or that hashes to another digest; `str()` says which."""


class Layout:
    """The layout's files in a store."""

    def __init__(self, store: ExportStore) -> None:
        self.store = store

    async def read_index(self) -> dict[str, IndexEntry]:
        """The entries by ref name; none when there is no index.json yet."""
        try:
            body = await self.read_small(INDEX, MAX_INDEX)
        except FileNotFoundError:
            return {}
        try:
            doc = json.loads(body)
            entries = [self._entry(item) for item in doc["manifests"]]
        except (ValueError, KeyError, TypeError):
            raise ExportError(
                f"{self.store.where}/{INDEX} is not an OCI image index: move it away, or point "
                "REGCLEAN_EXPORT_DIR at an empty directory."
            ) from None
        return {entry.ref_name: entry for entry in entries if entry.ref_name}

    @staticmethod
    def _entry(item: dict[str, object]) -> IndexEntry:
        annotations = item.get("annotations") or {}
        digest, size = item["digest"], item["size"]
        if not isinstance(annotations, dict) or not isinstance(digest, str) or not isinstance(size, int):
            raise TypeError(digest)
        return IndexEntry(
            str(annotations.get(REF_NAME) or ""), str(item.get("mediaType") or ""), digest, size
        )

    async def write_index(self, entries: Iterable[IndexEntry]) -> None:
        """index.json with these entries (sorted by name), and `oci-layout`, each replaced whole."""
        manifests = [
            {
                "mediaType": e.media_type,
                "digest": e.digest,
                "size": e.size,
                "annotations": {REF_NAME: e.ref_name},
            }
            for e in sorted(entries, key=lambda e: e.ref_name)
        ]
        index = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }
        await self.write_file(LAYOUT_FILE, LAYOUT_VERSION)
        await self.write_file(INDEX, json.dumps(index, indent=1).encode())

    async def read_small(self, path: str, limit: int) -> bytes:
        """A whole small file (a manifest, the index); FileNotFoundError when absent."""
        body = bytearray()
        async with aclosing(self.store.chunks(path)) as chunks:
            async for chunk in chunks:
                body += chunk
                if len(body) > limit:
                    raise ExportError(f"{self.store.where}/{path} is larger than {limit} bytes.")
        return bytes(body)

    async def write_file(self, path: str, data: bytes) -> None:
        sink = await self.store.create(path)
        try:
            await sink.write(data)
            await sink.commit()
        except BaseException:
            await sink.discard()
            raise

    async def write_blob(self, blob: Descriptor, chunks: AsyncIterable[bytes]) -> None:
        """Stream chunks through the hash into the blob's file; BlobProblem (nothing renamed) when
        they are not the blob."""
        algorithm = blob.digest.split(":", 1)[0]
        hasher = hashlib.new(algorithm)
        received = 0
        sink = await self.store.create(blob_path(blob.digest))
        try:
            async for chunk in chunks:
                received += len(chunk)
                if received > blob.size:
                    raise BlobProblem(f"blob {blob.digest} has more than {blob.size} bytes")
                hasher.update(chunk)
                await sink.write(chunk)
            got = f"{algorithm}:{hasher.hexdigest()}"
            if received != blob.size:
                raise BlobProblem(f"blob {blob.digest} has {received} bytes, not {blob.size}")
            if got != blob.digest:
                raise BlobProblem(f"blob {blob.digest} hashes to {got}")
            await sink.commit()
        except BaseException:
            await sink.discard()
            raise

    async def present(self, blob: Descriptor) -> bool:
        """Whether the layout holds the blob intact (its size checked, then every byte hashed)."""
        if await self.store.size(blob_path(blob.digest)) != blob.size:
            return False
        return await self.check_blob(blob) is None

    async def check_blob(self, blob: Descriptor) -> str | None:
        """None when the blob's file is intact; else what is wrong with it, as a phrase."""
        algorithm = blob.digest.split(":", 1)[0]
        hasher = hashlib.new(algorithm)
        received = 0
        try:
            async with aclosing(self.store.chunks(blob_path(blob.digest))) as chunks:
                async for chunk in chunks:
                    received += len(chunk)
                    hasher.update(chunk)
        except FileNotFoundError:
            return f"blob {blob.digest} is missing from the export"
        got = f"{algorithm}:{hasher.hexdigest()}"
        if received != blob.size:
            return f"blob {blob.digest} has {received} bytes on disk, not {blob.size}"
        if got != blob.digest:
            return f"blob {blob.digest} changed on disk (it hashes to {got})"
        return None
