"""Custom images survive the purge (docs/architecture.md, "Custom images"): every custom tag is
exported out of the registry into one OCI image layout before the purge (`export_images`), the
layout is read back and checked (`verify_export`, `actions/image_verify.py`), and pushed back after
the restore with the identical digests (`push_images`, `actions/image_push.py`).

The export reads each tag's manifest (and every platform manifest of an index), counts the bytes
the store still lacks (a blob already there is hashed, not trusted) against its free space, and
refuses with `ExportSpaceShort` before writing anything when they do not fit. Then it streams the
blobs, each once however many images share it, through the hash into the store.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiohttp

from actions.errors import ActionError, ExportSpaceShort, RegistryAuthFailed, RegistryError
from actions.export_store import ExportStore, LocalExportStore, SftpExportStore, sftp_export_store
from actions.exported import (
    MAX_MANIFEST,
    ExportedImage,
    ImageOutcome,
    ImageProblem,
    failed,
    registry_problem,
    together,
)
from actions.image_push import push_images
from actions.image_verify import verify_export
from actions.oci import ACCEPT, Descriptor, Unpullable, parse_manifest, parse_reference
from actions.oci_layout import BlobProblem, IndexEntry, Layout, blob_path, valid_ref_name
from actions.registry import RegistryAuth, RegistryTarget, pull_scope
from actions.registry_http import RetryPolicy, open_session, status_text

__all__ = [
    "ExportStore",
    "ExportedImage",
    "ImageOutcome",
    "LocalExportStore",
    "SftpExportStore",
    "export_images",
    "push_images",
    "sftp_export_store",
    "verify_export",
]

TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
INDEX_ENTRY_BYTES = 512
"""What one index.json entry may take, counted in the space the export needs."""
OnResult = Callable[[ImageOutcome], Awaitable[None]]


@dataclass(frozen=True)
class _Plan:
    """One tag as the registry serves it: its manifests' bytes, its blobs."""

    tag: str
    repository: str
    top: Descriptor
    manifests: tuple[tuple[Descriptor, bytes], ...]
    """The top manifest first, then an index's platform manifests."""
    blobs: tuple[Descriptor, ...]

    def exported(self) -> ExportedImage:
        return ExportedImage(
            self.tag,
            self.top.digest,
            self.top.media_type,
            max(len(self.manifests) - 1, 1),
            len(self.blobs),
            sum(b.size for b in self.blobs) + sum(d.size for d, _ in self.manifests),
        )


async def export_images(
    target: RegistryTarget,
    tags: Sequence[str],
    store: ExportStore,
    *,
    concurrency: int = 4,
    on_result: OnResult | None = None,
    retry: RetryPolicy | None = None,
) -> list[ImageOutcome]:
    """Export every tag (`repo:tag`) into the store's layout, `concurrency` requests and writes at a
    time; an outcome per tag in the order given, each also to `on_result` once known. A problem with
    one image is its outcome; `ExportSpaceShort` (or an unusable store) raises before any write."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    layout = Layout(store)
    entries = await layout.read_index()
    try:
        session = open_session(target.ca_file, limit=2 * concurrency, timeout=TIMEOUT)
    except RegistryError as exc:  # the CA file: every image's problem, as the pull check says it
        return [failed(tag, registry_problem(exc)) for tag in tags]
    async with session:
        exporter = _Exporter(RegistryAuth(target, session, retry), target, layout, concurrency, entries)
        planned = await asyncio.gather(*(exporter.plan(tag) for tag in tags))
        plans = [p for p in planned if isinstance(p, _Plan)]
        for outcome in planned:
            if isinstance(outcome, ImageOutcome) and on_result is not None:
                await on_result(outcome)
        if not plans:
            return [p for p in planned if isinstance(p, ImageOutcome)]
        await exporter.reserve(plans)
        await store.prepare()

        async def one(plan: _Plan) -> ImageOutcome:
            outcome = await exporter.export(plan)
            if on_result is not None:
                await on_result(outcome)
            return outcome

        try:
            async with asyncio.TaskGroup() as group:
                tasks = {id(plan): group.create_task(one(plan)) for plan in plans}
        except BaseExceptionGroup as broken:  # on_result failed: its error, as a plain call raises it
            raise broken.exceptions[0] from None
        finally:
            await exporter.close()
    return [tasks[id(p)].result() if isinstance(p, _Plan) else p for p in planned]


class _Exporter:
    """One export: the session's auth, the bound on transfers, each blob fetched once."""

    def __init__(
        self,
        auth: RegistryAuth,
        target: RegistryTarget,
        layout: Layout,
        concurrency: int,
        entries: dict[str, IndexEntry],
    ) -> None:
        self._auth, self._target, self._layout = auth, target, layout
        self._limit = asyncio.Semaphore(concurrency)
        self._entries = entries
        self._index_lock = asyncio.Lock()
        self._present: set[str] = set()
        self._fetches: dict[str, asyncio.Task[None]] = {}

    async def close(self) -> None:
        for task in self._fetches.values():
            task.cancel()
        await asyncio.gather(*self._fetches.values(), return_exceptions=True)

    async def plan(self, tag: str) -> _Plan | ImageOutcome:
        """The tag's manifests, fetched and hashed; an outcome naming the problem if they cannot be."""
        try:
            ref = parse_reference(tag, self._target.address)
            if ref.tag is None or not valid_ref_name(f"{ref.repository}:{ref.tag}"):
                raise ImageProblem(
                    f"{tag} cannot be named in an OCI layout (its ref.name grammar): export it "
                    "under another tag, or waive it"
                )
            name = f"{ref.repository}:{ref.tag}"
            body, digest, content_type = await self._manifest(ref.repository, ref.tag, name, None)
            manifest = parse_manifest(body, content_type, f"{digest} of {name}")
            top = Descriptor(manifest.media_type, digest, len(body))
            manifests, images = [(top, body)], [manifest]
            if manifest.is_index:
                if not manifest.children:
                    raise ImageProblem(f"bad manifest: the index {name} lists no manifest")
                images = []
                for child in manifest.children:
                    what = f"{child.digest} of {name}"
                    child_body, _, child_type = await self._manifest(
                        ref.repository, child.digest, what, child
                    )
                    child_manifest = parse_manifest(child_body, child.media_type or child_type, what)
                    if child_manifest.is_index:
                        raise ImageProblem(f"unsupported manifest: {what} is an index inside an index")
                    manifests.append(
                        (Descriptor(child_manifest.media_type, child.digest, child.size), child_body)
                    )
                    images.append(child_manifest)
            blobs = {b.digest: b for image in images for b in image.blobs}
            for blob in blobs.values():
                blob_path(blob.digest)  # a digest the layout cannot hold is this image's problem now
            return _Plan(name, ref.repository, top, tuple(manifests), tuple(blobs.values()))
        except (Unpullable, ImageProblem) as exc:
            return failed(tag, str(exc))
        except ActionError as exc:
            return failed(tag, registry_problem(exc))

    async def reserve(self, plans: Sequence[_Plan]) -> None:
        """Find what the store holds intact already; refuse when the rest does not fit its free space."""
        wanted = {d.digest: d for p in plans for d in (*(m for m, _ in p.manifests), *p.blobs)}

        async def check(blob: Descriptor) -> None:
            async with self._limit:
                if await self._layout.present(blob):
                    self._present.add(blob.digest)

        await asyncio.gather(*map(check, wanted.values()))
        missing = sum(d.size for d in wanted.values() if d.digest not in self._present)
        missing += INDEX_ENTRY_BYTES * (len(self._entries) + len(plans))
        free = await self._layout.store.free_bytes()
        if missing > free:
            raise ExportSpaceShort(
                f"The export of {len(plans)} image(s) needs {missing} bytes ({_human(missing)}) more in "
                f"{self._layout.store.where}, but only {free} bytes ({_human(free)}) are free there: "
                "free space there, or set REGCLEAN_EXPORT_DIR to a directory on a larger disk."
            )

    async def export(self, plan: _Plan) -> ImageOutcome:
        """Write the plan's blobs and manifests, then its index.json entry."""
        try:
            await together(self._blob(plan.repository, blob) for blob in plan.blobs)
            for descriptor, body in plan.manifests:
                if descriptor.digest not in self._present:
                    await self._layout.write_file(blob_path(descriptor.digest), body)
                    self._present.add(descriptor.digest)
            async with self._index_lock:
                self._entries[plan.tag] = IndexEntry(
                    plan.tag, plan.top.media_type, plan.top.digest, plan.top.size
                )
                await self._layout.write_index(self._entries.values())
        except BlobProblem as exc:
            return failed(
                plan.tag, f"digest mismatch: {exc} (from the registry, for {plan.tag}); nothing kept"
            )
        except ImageProblem as exc:
            return failed(plan.tag, str(exc))
        except ActionError as exc:
            return failed(plan.tag, registry_problem(exc))
        return ImageOutcome(plan.tag, True, None, plan.exported())

    async def _blob(self, repository: str, blob: Descriptor) -> None:
        if blob.digest in self._present:
            return
        fetch = self._fetches.get(blob.digest)
        if fetch is None:
            fetch = self._fetches[blob.digest] = asyncio.create_task(self._fetch(repository, blob))
        await asyncio.shield(fetch)

    async def _fetch(self, repository: str, blob: Descriptor) -> None:
        url = f"{self._target.base}/v2/{repository}/blobs/{blob.digest}"
        async with self._limit, self._auth.get(url, pull_scope(repository)) as response:
            self._refuse(response, f"the blob {blob.digest} in {repository}")
            if response.status == 404:
                raise ImageProblem(
                    f"missing blob: {blob.digest} of {repository} (the registry has not got it)"
                )
            try:
                await self._layout.write_blob(blob, response.content.iter_chunked(1 << 20))
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise ImageProblem(
                    f"missing blob: {blob.digest} of {repository} (the registry broke off: {type(exc).__name__})"
                ) from None
        self._present.add(blob.digest)

    async def _manifest(
        self, repository: str, reference: str, what: str, expect: Descriptor | None
    ) -> tuple[bytes, str, str]:
        """The manifest's bytes, digest and Content-Type, checked against `expect` or what the registry says."""
        url = f"{self._target.base}/v2/{repository}/manifests/{reference}"
        body = bytearray()
        async with self._limit, self._auth.get(url, pull_scope(repository), {"Accept": ACCEPT}) as response:
            self._refuse(response, f"the manifest {what}")
            if response.status == 404:
                raise ImageProblem(f"no manifest: {what}")
            try:
                async for chunk in response.content.iter_any():
                    body += chunk
                    if len(body) > MAX_MANIFEST:
                        raise ImageProblem(f"bad manifest: {what} is larger than {MAX_MANIFEST} bytes")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise ImageProblem(
                    f"no manifest: {what} (the registry broke off: {type(exc).__name__})"
                ) from None
            said = response.headers.get("Docker-Content-Digest")
            content_type = response.content_type
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        expected = expect.digest if expect else said
        if expected and expected.startswith("sha256:") and expected != digest:
            raise ImageProblem(f"digest mismatch: manifest {what} (got {digest}, expected {expected})")
        if expect is not None and (len(body) != expect.size or expect.digest != digest):
            raise ImageProblem(f"digest mismatch: manifest {what} ({len(body)} bytes, not {expect.size})")
        return bytes(body), digest, content_type

    def _refuse(self, response: aiohttp.ClientResponse, what: str) -> None:
        if response.status == 403:
            raise RegistryAuthFailed(
                f"The registry {self._target.address} denied {self._target.username or 'an anonymous client'} "
                f"access to {what}."
            )
        if response.status not in (200, 404):
            raise RegistryError(
                f"The registry {self._target.address} answered {status_text(response.status)} for {what}."
            )


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"
