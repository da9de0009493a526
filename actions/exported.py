"""What an image export reports (docs/architecture.md, "Custom images"), and an exported image as
the layout holds it, read back and checked manifest by manifest (verify and push share it)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import Any

from actions.errors import ActionError, RegistryAuthFailed, RegistryError, RegistryUnreachable
from actions.oci import Descriptor, Manifest, Unpullable, parse_manifest
from actions.oci_layout import IndexEntry, Layout, blob_path
from actions.registry_http import RegistryBusy, RegistryTlsError

MAX_MANIFEST = 4 * 2**20


@dataclass(frozen=True)
class ExportedImage:
    """One tag in the export."""

    tag: str
    """`repo:tag` as the registry lists it."""
    digest: str
    """The top manifest's digest (an index's for a multi-arch image)."""
    media_type: str
    manifests: int
    """Platform manifests (1 for a single image)."""
    blobs: int
    """Distinct configs and layers."""
    bytes: int
    """Those blobs' bytes plus every manifest's bytes."""


@dataclass(frozen=True)
class ImageOutcome:
    """What export, verify or push did with one tag."""

    tag: str
    ok: bool
    problem: str | None
    """None when ok; else a sentence naming the manifest or blob and what is wrong."""
    image: ExportedImage | None


class ImageProblem(Exception):
    """Why one image cannot be exported, verified or pushed; `str()` is the outcome's problem."""


def failed(tag: str, problem: str) -> ImageOutcome:
    """The outcome of a tag that failed."""
    return ImageOutcome(tag, False, problem, None)


async def together(steps: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the steps at once; the first problem in their order (not in time) is the one raised."""
    for outcome in await asyncio.gather(*steps, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome


def registry_problem(exc: ActionError) -> str:
    """A registry error as an image's problem, its kind first (as the pull check names them)."""
    if isinstance(exc, RegistryAuthFailed):
        return f"auth: {exc}"
    if isinstance(exc, RegistryTlsError):
        return f"tls: {exc}"
    if isinstance(exc, RegistryBusy):
        return f"registry busy: {exc}"
    if isinstance(exc, RegistryUnreachable):
        return f"unreachable: {exc}"
    if isinstance(exc, RegistryError):
        return f"registry error: {exc}"
    return str(exc)


def split_tag(tag: str) -> tuple[str, str]:
    """`repo:tag` → (repo, tag)."""
    repository, _, name = tag.rpartition(":")
    return repository, name


def check_manifest(body: bytes, descriptor: Descriptor, what: str) -> Manifest:
    """The manifest what, parsed, once its bytes hash to the descriptor's digest and size."""
    algorithm = descriptor.digest.split(":", 1)[0]
    got = f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"
    if got != descriptor.digest:
        raise ImageProblem(f"manifest {what} changed on disk (it hashes to {got})")
    if len(body) != descriptor.size:
        raise ImageProblem(f"manifest {what} has {len(body)} bytes, not {descriptor.size}")
    try:
        return parse_manifest(body, descriptor.media_type, what)
    except Unpullable as exc:
        raise ImageProblem(str(exc)) from None


@dataclass(frozen=True)
class StoredImage:
    """An exported tag as the layout holds it: every manifest's bytes, checked; its blobs named."""

    tag: str
    entry: IndexEntry
    top: bytes
    platforms: tuple[tuple[Descriptor, bytes], ...]
    """An index's platform manifests with their bytes; empty for a single image."""
    blobs: tuple[Descriptor, ...]
    """Configs and layers, each once."""

    @property
    def repository(self) -> str:
        return split_tag(self.tag)[0]

    def exported(self) -> ExportedImage:
        manifest_bytes = len(self.top) + sum(len(body) for _, body in self.platforms)
        return ExportedImage(
            self.tag,
            self.entry.digest,
            self.entry.media_type,
            len(self.platforms) or 1,
            len(self.blobs),
            sum(b.size for b in self.blobs) + manifest_bytes,
        )


async def load_image(layout: Layout, entries: dict[str, IndexEntry], tag: str, digest: str) -> StoredImage:
    """The tag's image from the layout, its manifests hashed; ImageProblem when it is not as expected."""
    entry = entries.get(tag)
    if entry is None:
        raise ImageProblem(
            f"{tag} is not in the export ({layout.store.where}/index.json has no such ref.name)"
        )
    if entry.digest != digest:
        raise ImageProblem(f"the export holds {tag} as {entry.digest}, not {digest}")
    top = await _read_manifest(layout, entry.descriptor, f"{entry.digest} of {tag}")
    manifest = check_manifest(top, entry.descriptor, f"{entry.digest} of {tag}")
    platforms: list[tuple[Descriptor, bytes]] = []
    images = [manifest]
    if manifest.is_index:
        images = []
        for child in manifest.children:
            what = f"{child.digest} of {tag}"
            body = await _read_manifest(layout, child, what)
            child_manifest = check_manifest(body, child, what)
            if child_manifest.is_index:
                raise ImageProblem(f"unsupported manifest: {what} is an index inside an index")
            platforms.append((_typed(child, child_manifest), body))
            images.append(child_manifest)
    blobs = {blob.digest: blob for image in images for blob in image.blobs}
    return StoredImage(tag, entry, top, tuple(platforms), tuple(blobs.values()))


def _typed(descriptor: Descriptor, manifest: Manifest) -> Descriptor:
    """The descriptor with the media type the manifest itself declares when the index left it out."""
    return (
        descriptor
        if descriptor.media_type
        else Descriptor(manifest.media_type, descriptor.digest, descriptor.size)
    )


async def _read_manifest(layout: Layout, descriptor: Descriptor, what: str) -> bytes:
    try:
        return await layout.read_small(blob_path(descriptor.digest), MAX_MANIFEST)
    except FileNotFoundError:
        raise ImageProblem(f"manifest {what} is missing from the export") from None
    except ActionError as exc:
        raise ImageProblem(f"manifest {what} cannot be read: {exc}") from None
