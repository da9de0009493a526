"""The export pushed back after the restore (docs/architecture.md, "Custom images").

Each image is checked in the store first (`checked_images`: a blob that changed on disk is never
pushed). Then its blobs: HEAD, and unless the registry has it, POST an upload and PUT the blob
whole, streamed from the store; then its platform manifests by digest; then the top manifest to
its tag, each with its exact bytes and media type, and the registry's Docker-Content-Digest must
be the exported digest. A failure is that image's outcome; the others go on. The caller proves the
result with a pull check (`actions/pull_check.py`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing

import aiohttp
from yarl import URL

from actions.errors import ActionError, ExportError, RegistryAuthFailed, RegistryError
from actions.export_store import ExportStore
from actions.exported import ImageOutcome, StoredImage, failed, registry_problem, together
from actions.image_verify import checked_images
from actions.oci import Descriptor
from actions.oci_layout import Layout, blob_path
from actions.registry import RegistryAuth, RegistryTarget, push_scope
from actions.registry_http import RetryPolicy, open_session, status_text

TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=300)
"""No total: a large layer may take long; sock_read covers the registry's storing of a whole blob."""


async def push_images(
    target: RegistryTarget,
    store: ExportStore,
    expected: Mapping[str, str],
    *,
    concurrency: int = 4,
    on_result: Callable[[ImageOutcome], Awaitable[None]] | None = None,
    retry: RetryPolicy | None = None,
) -> list[ImageOutcome]:
    """Push each tag (`repo:tag` → its exported digest) from the store to the registry, `concurrency`
    requests at a time; outcomes in the order given, each also to `on_result` once known."""
    checked = await checked_images(Layout(store), expected, concurrency=concurrency)
    outcomes: dict[str, ImageOutcome] = {}
    for tag, found in checked.items():
        if isinstance(found, ImageOutcome):
            outcomes[tag] = failed(tag, f"not pushed: {found.problem}")
            if on_result is not None:
                await on_result(outcomes[tag])
    images = [found for found in checked.values() if isinstance(found, StoredImage)]
    try:
        session = open_session(target.ca_file, limit=2 * concurrency, timeout=TIMEOUT)
    except RegistryError as exc:
        outcomes |= {image.tag: failed(image.tag, registry_problem(exc)) for image in images}
        return [outcomes[tag] for tag in expected]
    async with session:
        pusher = _Pusher(RegistryAuth(target, session, retry), target, Layout(store), concurrency)

        async def one(image: StoredImage) -> None:
            outcomes[image.tag] = await pusher.push(image)
            if on_result is not None:
                await on_result(outcomes[image.tag])

        try:
            async with asyncio.TaskGroup() as group:
                for image in images:
                    group.create_task(one(image))
        except BaseExceptionGroup as broken:  # on_result failed: its error, as a plain call raises it
            raise broken.exceptions[0] from None
        finally:
            await pusher.close()
    return [outcomes[tag] for tag in expected]


class _Pusher:
    """One push: the session's auth, the bound on requests, each blob uploaded once per repository."""

    def __init__(self, auth: RegistryAuth, target: RegistryTarget, layout: Layout, concurrency: int) -> None:
        self._auth, self._target, self._layout = auth, target, layout
        self._limit = asyncio.Semaphore(concurrency)
        self._uploads: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def close(self) -> None:
        for task in self._uploads.values():
            task.cancel()
        await asyncio.gather(*self._uploads.values(), return_exceptions=True)

    async def push(self, image: StoredImage) -> ImageOutcome:
        repository, tag = image.tag.rsplit(":", 1)
        try:
            await together(self._blob(repository, blob) for blob in image.blobs)
            for platform, body in image.platforms:
                await self._manifest(repository, platform.digest, platform, body)
            await self._manifest(repository, tag, image.entry.descriptor, image.top)
        except ActionError as exc:
            return failed(image.tag, registry_problem(exc))
        return ImageOutcome(image.tag, True, None, image.exported())

    async def _blob(self, repository: str, blob: Descriptor) -> None:
        key = (repository, blob.digest)
        upload = self._uploads.get(key)
        if upload is None:
            upload = self._uploads[key] = asyncio.create_task(self._upload(repository, blob))
        await asyncio.shield(upload)

    async def _upload(self, repository: str, blob: Descriptor) -> None:
        base, scope = f"{self._target.base}/v2/{repository}", push_scope(repository)
        what = f"the blob {blob.digest} of {repository}"
        async with self._limit:
            async with self._auth.request("HEAD", f"{base}/blobs/{blob.digest}", scope) as response:
                if response.status == 200:
                    return
                await self._expect(response, (404,), f"HEAD of {what}")
            async with self._auth.request("POST", f"{base}/blobs/uploads/", scope) as response:
                await self._expect(response, (202,), f"the upload of {what}")
                location = response.headers.get("Location")
            if not location:
                raise RegistryError(
                    f"The registry {self._target.address} started the upload of {what} without a Location."
                )
            url = URL(base).join(URL(location, encoded=True)).extend_query(digest=blob.digest)
            headers = {"Content-Type": "application/octet-stream", "Content-Length": str(blob.size)}
            source = _Source(self._layout, blob)
            try:
                async with self._auth.request("PUT", str(url), scope, headers, source.chunks) as response:
                    await self._expect(response, (201,), f"the upload of {what}")
            except ActionError:
                if source.failed is None:
                    raise
                raise ExportError(
                    f"not pushed: blob {blob.digest} could not be read from the export ({source.failed})"
                ) from None

    async def _manifest(self, repository: str, reference: str, descriptor: Descriptor, body: bytes) -> None:
        url = f"{self._target.base}/v2/{repository}/manifests/{reference}"
        what = f"the manifest {descriptor.digest} of {repository}:{reference}"
        if reference == descriptor.digest:
            what = f"the manifest {descriptor.digest} of {repository}"
        headers = {"Content-Type": descriptor.media_type}
        async with (
            self._limit,
            self._auth.request("PUT", url, push_scope(repository), headers, lambda: body) as response,
        ):
            await self._expect(response, (201,), f"the push of {what}")
            stored = response.headers.get("Docker-Content-Digest")
        if stored != descriptor.digest:
            raise RegistryError(
                f"The registry {self._target.address} stored {what} as {stored or 'an unnamed digest'}, "
                f"not as the exported {descriptor.digest}."
            )

    async def _expect(self, response: aiohttp.ClientResponse, statuses: tuple[int, ...], what: str) -> None:
        if response.status in statuses:
            return
        said = await _error_codes(response)
        if response.status == 403:
            raise RegistryAuthFailed(
                f"The registry {self._target.address} denied {self._target.username or 'an anonymous client'} "
                f"{what}{said}: the user needs the right to push."
            )
        raise RegistryError(
            f"The registry {self._target.address} answered {status_text(response.status)} for {what}{said}."
        )


class _Source:
    """A blob's chunks from the store for an upload, remembering why reading them failed: the HTTP
    client reports that only as a broken connection."""

    def __init__(self, layout: Layout, blob: Descriptor) -> None:
        self._layout, self._path = layout, blob_path(blob.digest)
        self.failed: str | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        try:
            async with aclosing(self._layout.store.chunks(self._path)) as chunks:
                async for chunk in chunks:
                    yield chunk
        except OSError as exc:
            self.failed = exc.strerror or type(exc).__name__
            raise
        except ActionError as exc:
            self.failed = str(exc)
            raise


async def _error_codes(response: aiohttp.ClientResponse) -> str:
    """distribution's error codes and messages (`DIGEST_INVALID: …`), when the body has them."""
    try:
        doc = json.loads(await response.read())  # read already when Transport looked at a 400
        errors = [f"{e['code']}: {e.get('message', '')}".rstrip(": ") for e in doc["errors"]]
    except (ValueError, KeyError, TypeError, aiohttp.ClientError):
        return ""
    return f" ({'; '.join(errors)})" if errors else ""
