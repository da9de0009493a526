"""Image references and manifests as the OCI distribution spec defines them, parsed without I/O.

A malformed reference or manifest is a problem to report about one image, never an exception
that stops a check of many, so the parsers return or raise `Unpullable` with a sentence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
ACCEPT = ", ".join([OCI_INDEX, DOCKER_LIST, OCI_MANIFEST, DOCKER_MANIFEST])
"""What a client that pulls every platform accepts for a manifest."""

DIGEST_ALGORITHMS = {"sha256": 64, "sha512": 128}
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
_TAG = re.compile(r"\w[\w.-]{0,127}")
_DIGEST = re.compile(r"([a-z0-9]+):([a-f0-9]+)")


class Unpullable(Exception):
    """Why an image cannot be pulled; `str()` is the problem shown for it."""


@dataclass(frozen=True)
class Reference:
    """One image in the platform registry: a repository and a tag or a digest."""

    repository: str
    tag: str | None
    digest: str | None

    @property
    def reference(self) -> str:
        """What follows `/manifests/` in the URL: the digest when there is one."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        """`repo:tag` or `repo@sha256:…`, as problems name the image."""
        return f"{self.repository}@{self.digest}" if self.digest else f"{self.repository}:{self.tag}"


def valid_digest(digest: str) -> bool:
    """A digest whose algorithm we can check (sha256, sha512), in canonical lower-case hex."""
    match = _DIGEST.fullmatch(digest)
    return match is not None and DIGEST_ALGORITHMS.get(match.group(1)) == len(match.group(2))


def parse_reference(image: str, registry: str) -> Reference:
    """`repo`, `repo:tag`, `repo@digest`, each optionally after `REGISTRY/` (`host:port`)."""
    name, _, digest = image.partition("@")
    first, slash, rest = name.partition("/")
    host = None
    if slash and (first == registry or "." in first or ":" in first or first == "localhost"):
        host, name = first, rest
    repository, tag = name, None
    if ":" in name.rsplit("/", 1)[-1]:
        repository, _, tag = name.rpartition(":")
    if not _NAME.fullmatch(repository) or len(repository) > 255:
        raise Unpullable(f"bad reference: {image!r} has no valid repository name")
    if tag is not None and not _TAG.fullmatch(tag):
        raise Unpullable(f"bad reference: {image!r} has an invalid tag")
    if digest and not valid_digest(digest):
        raise Unpullable(f"bad reference: {image!r} has an invalid or unsupported digest")
    if "@" in image and not digest:
        raise Unpullable(f"bad reference: {image!r} has an empty digest")
    if host is not None and host != registry:
        raise Unpullable(f"not in the platform registry {registry}: {image} is on {host}")
    return Reference(repository, None if digest else (tag or "latest"), digest or None)


@dataclass(frozen=True)
class Descriptor:
    """A content descriptor: what to fetch, and what it must hash to."""

    media_type: str
    digest: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """An index (`children`: platform manifests) or an image manifest (`blobs`: config, then layers)."""

    media_type: str
    children: tuple[Descriptor, ...] = ()
    blobs: tuple[Descriptor, ...] = ()

    @property
    def is_index(self) -> bool:
        """An index or manifest list, resolved to its platform manifests."""
        return self.media_type in INDEX_TYPES


def parse_manifest(body: bytes, content_type: str | None, what: str) -> Manifest:
    """The manifest `what` (for the problem's text) from its bytes and Content-Type."""
    try:
        doc = json.loads(body)
    except ValueError:
        raise Unpullable(f"bad manifest: {what} is not JSON") from None
    if not isinstance(doc, dict):
        raise Unpullable(f"bad manifest: {what} is not a JSON object")
    media_type = doc.get("mediaType") or (content_type or "").split(";")[0].strip()
    if media_type in INDEX_TYPES:
        return Manifest(media_type, children=tuple(_descriptors(doc.get("manifests"), what)))
    if media_type in IMAGE_TYPES:
        config = _descriptors([doc.get("config")], what)
        return Manifest(media_type, blobs=(*config, *_descriptors(doc.get("layers"), what)))
    raise Unpullable(f"unsupported manifest: {what} is {media_type or 'of no known media type'}")


def _descriptors(items: object, what: str) -> list[Descriptor]:
    if not isinstance(items, list):
        raise Unpullable(f"bad manifest: {what} lacks its descriptors")
    found = []
    for item in items:
        digest = item.get("digest") if isinstance(item, dict) else None
        size = item.get("size") if isinstance(item, dict) else None
        if not isinstance(digest, str) or not valid_digest(digest):
            raise Unpullable(f"bad manifest: {what} has a descriptor without a valid digest")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise Unpullable(f"bad manifest: {what} has a descriptor without a valid size ({digest})")
        found.append(Descriptor(str(item.get("mediaType") or ""), digest, size))
    return found
