"""The pull check: fetch an image exactly as a client pulls it, and check every digest
(docs/architecture.md, "Verification").

A HEAD, or a 200, proves nothing: after the bucket was emptied, the registry's blob-descriptor
cache still vouches for blobs and answers a GET with a Content-Length and no body. So every
manifest is hashed, and the config and every layer are downloaded, streamed through the hash
(never held in memory) and counted against their descriptors.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from actions.errors import RegistryAuthFailed, RegistryError, RegistryUnreachable
from actions.oci import (
    ACCEPT,
    Descriptor,
    Manifest,
    Reference,
    Unpullable,
    parse_manifest,
    parse_reference,
    valid_digest,
)
from actions.registry import RegistryAuth, RegistryTarget, pull_scope
from actions.registry_http import RegistryBusy, RegistryTlsError, RetryPolicy, open_session, status_text

MAX_MANIFEST = 4 * 2**20
TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=120)
"""No total: a large layer may take long; a registry that stops sending fails within sock_read."""


@dataclass(frozen=True)
class PullResult:
    """What the check of one image found."""

    image: str
    """The reference as given."""
    pullable: bool
    """Every manifest and blob came whole and matched its digest."""
    problem: str | None
    """None when pullable; else why not, naming the manifest or blob (`missing blob: sha256:… of repo:tag`)."""
    manifests: int
    """Platform (image) manifests checked: one per platform of an index."""
    blobs: int
    """Configs and layers downloaded and verified."""
    bytes: int
    """Bytes of those blobs."""


async def check_pulls(
    target: RegistryTarget,
    images: Sequence[str],
    *,
    concurrency: int,
    on_result: Callable[[PullResult], Awaitable[None]] | None = None,
    retry: RetryPolicy | None = None,
) -> list[PullResult]:
    """Pull-check every image, `concurrency` images and blob downloads at a time; results in the
    order given, and each also to `on_result` as soon as it is known. Problems never raise, a
    CA file that cannot be read included (every image then names it)."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    try:
        session = open_session(target.ca_file, limit=2 * concurrency, timeout=TIMEOUT)
    except RegistryError as exc:
        return [PullResult(image, False, f"tls: {exc}", 0, 0, 0) for image in images]
    limit = asyncio.Semaphore(concurrency)
    async with session:
        puller = _Puller(RegistryAuth(target, session, retry), target, concurrency)

        async def one(image: str) -> PullResult:
            async with limit:
                result = await puller.check(image)
            if on_result is not None:
                await on_result(result)
            return result

        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(one(image)) for image in images]
        except BaseExceptionGroup as failed:  # on_result failed: the first error, as a plain call raises it
            raise failed.exceptions[0] from None
        finally:
            await puller.close()
    return [task.result() for task in tasks]


@dataclass
class _Tally:
    manifests: int = 0
    blobs: int = 0
    bytes: int = 0


class _BlobProblem(Exception):
    """A blob that failed its check: shared by every image that uses it, and named per image."""

    def __init__(self, digest: str, kind: str, detail: str = "") -> None:
        super().__init__(digest, kind, detail)
        self.digest, self.kind, self.detail = digest, kind, detail

    def about(self, image: str) -> str:
        """The problem as shown for image: `missing blob: sha256:… of repo:tag`."""
        blob = f"blob {self.digest}" if self.kind == "digest mismatch" else self.digest
        return f"{self.kind}: {blob} of {image}{self.detail}"


class _Puller:
    """One check run: its session's auth, the shared bound on downloads, and each blob once per repository."""

    def __init__(self, auth: RegistryAuth, target: RegistryTarget, concurrency: int) -> None:
        self._auth = auth
        self._target = target
        self._transfers = asyncio.Semaphore(concurrency)
        self._downloads: dict[tuple[str, str, int], asyncio.Task[None]] = {}

    async def close(self) -> None:
        """Stop downloads nobody waits for any more (their image's check was cancelled)."""
        for task in self._downloads.values():
            task.cancel()
        await asyncio.gather(*self._downloads.values(), return_exceptions=True)

    async def check(self, image: str) -> PullResult:
        tally = _Tally()
        problem: str | None = None
        try:
            await self._image(parse_reference(image, self._target.address), tally)
        except Unpullable as exc:
            problem = str(exc)
        except RegistryAuthFailed as exc:
            problem = f"auth: {exc}"
        except RegistryTlsError as exc:
            problem = f"tls: {exc}"
        except RegistryBusy as exc:
            problem = f"registry busy: {exc}"
        except RegistryUnreachable as exc:
            problem = f"unreachable: {exc}"
        except RegistryError as exc:
            problem = f"registry error: {exc}"
        return PullResult(image, problem is None, problem, tally.manifests, tally.blobs, tally.bytes)

    async def _image(self, ref: Reference, tally: _Tally) -> None:
        manifest = await self._manifest(ref, ref.reference, ref.name, expect=ref.digest)
        if not manifest.is_index:
            return await self._blobs_of(ref, manifest, tally)
        if not manifest.children:
            raise Unpullable(f"bad manifest: the index {ref.name} lists no manifest")
        await _all(self._platform(ref, child, tally) for child in manifest.children)

    async def _platform(self, ref: Reference, child: Descriptor, tally: _Tally) -> None:
        what = f"{child.digest} of {ref.name}"
        manifest = await self._manifest(ref, child.digest, what, expect=child.digest, size=child.size)
        if manifest.is_index:
            raise Unpullable(f"unsupported manifest: {what} is an index inside an index")
        await self._blobs_of(ref, manifest, tally)

    async def _blobs_of(self, ref: Reference, manifest: Manifest, tally: _Tally) -> None:
        tally.manifests += 1
        await _all(self._blob(ref, blob, tally) for blob in manifest.blobs)

    async def _manifest(
        self, ref: Reference, reference: str, what: str, *, expect: str | None, size: int | None = None
    ) -> Manifest:
        url = f"{self._target.base}/v2/{ref.repository}/manifests/{reference}"
        body = bytearray()
        async with self._auth.get(url, pull_scope(ref.repository), {"Accept": ACCEPT}) as response:
            self._refuse_errors(response, f"the manifest {what}")
            if response.status == 404:
                raise Unpullable(f"no manifest: {what}")
            try:
                async for chunk in response.content.iter_any():
                    body += chunk
                    if len(body) > MAX_MANIFEST:
                        raise Unpullable(f"bad manifest: {what} is larger than {MAX_MANIFEST} bytes")
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise Unpullable(
                    f"no manifest: {what} (the registry broke off: {type(exc).__name__})"
                ) from None
            said = response.headers.get("Docker-Content-Digest")
            content_type = response.content_type
        expected = expect or (said if said and valid_digest(said) else None)
        algorithm = expected.split(":", 1)[0] if expected else "sha256"
        got = f"{algorithm}:{hashlib.new(algorithm, body).hexdigest()}"
        if expected is not None and got != expected:
            source = "" if expect else f", the registry said {said}"
            raise Unpullable(f"digest mismatch: manifest {what} (got {got}{source})")
        if size is not None and len(body) != size:
            raise Unpullable(f"digest mismatch: manifest {what} ({len(body)} bytes, not {size})")
        return parse_manifest(bytes(body), content_type, what)

    async def _blob(self, ref: Reference, blob: Descriptor, tally: _Tally) -> None:
        key = (ref.repository, blob.digest, blob.size)
        download = self._downloads.get(key)
        if download is None:
            download = self._downloads[key] = asyncio.create_task(self._download(ref.repository, blob))
        try:
            await asyncio.shield(download)
        except _BlobProblem as exc:
            raise Unpullable(exc.about(ref.name)) from None
        tally.blobs += 1
        tally.bytes += blob.size

    async def _download(self, repository: str, blob: Descriptor) -> None:
        url = f"{self._target.base}/v2/{repository}/blobs/{blob.digest}"
        algorithm = blob.digest.split(":", 1)[0]
        hasher = hashlib.new(algorithm)
        received = 0
        async with self._transfers, self._auth.get(url, pull_scope(repository)) as response:
            self._refuse_errors(response, f"the blob {blob.digest} in {repository}")
            if response.status == 404:
                raise _BlobProblem(blob.digest, "missing blob")
            try:
                async for chunk in response.content.iter_any():
                    received += len(chunk)
                    if received > blob.size:
                        raise _BlobProblem(
                            blob.digest, "digest mismatch", f" (got more than {blob.size} bytes)"
                        )
                    hasher.update(chunk)
            except (aiohttp.ClientError, TimeoutError) as exc:
                detail = f" (short read: {received} of {blob.size} bytes, then {type(exc).__name__})"
                raise _BlobProblem(blob.digest, "missing blob", detail) from None
        got = f"{algorithm}:{hasher.hexdigest()}"
        if received != blob.size:
            raise _BlobProblem(
                blob.digest, "digest mismatch", f" (got {got}, {received} of {blob.size} bytes)"
            )
        if got != blob.digest:
            raise _BlobProblem(blob.digest, "digest mismatch", f" (got {got})")

    def _refuse_errors(self, response: aiohttp.ClientResponse, what: str) -> None:
        """Statuses that say nothing about the image but about us, the registry or its storage."""
        if response.url.origin() != URL(self._target.base).origin() and response.status not in (200, 404):
            raise RegistryError(
                f"The registry's storage {response.url.host}:{response.url.port} answered "
                f"{status_text(response.status)} for {what}, to which the registry redirected "
                "(a pre-signed URL: check the clocks of the registry and the storage, and the "
                "registry's storage credentials)."
            )
        if response.status == 403:
            raise RegistryAuthFailed(
                f"The registry {self._target.address} denied {self._target.username or 'an anonymous client'} "
                f"access to {what}."
            )
        if response.status not in (200, 404):
            raise RegistryError(f"The registry {self._target.address} answered {response.status} for {what}.")


async def _all(checks: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run the checks together; the first problem in their order (not in time) is the one reported."""
    for outcome in await asyncio.gather(*checks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome
