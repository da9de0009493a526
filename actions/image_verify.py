"""The export read back (docs/architecture.md, "Custom images"): every manifest and blob of the
expected tags re-read from the store and checked against its digest and size. A blob that changed
on disk is named with every tag that uses it; the push refuses such an image (`checked_images`)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from actions.errors import ActionError
from actions.export_store import ExportStore
from actions.exported import ImageOutcome, ImageProblem, StoredImage, failed, load_image
from actions.oci import Descriptor
from actions.oci_layout import Layout


async def verify_export(
    store: ExportStore, expected: Mapping[str, str], *, concurrency: int = 4
) -> list[ImageOutcome]:
    """Check each tag (`repo:tag` → its top manifest's digest) in the store; outcomes in that order."""
    checked = await checked_images(Layout(store), expected, concurrency=concurrency)
    return [
        ImageOutcome(tag, True, None, found.exported()) if isinstance(found, StoredImage) else found
        for tag, found in checked.items()
    ]


async def checked_images(
    layout: Layout, expected: Mapping[str, str], *, concurrency: int
) -> dict[str, StoredImage | ImageOutcome]:
    """Each expected tag's image, every manifest and blob hashed, or the outcome that says what is wrong."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    try:
        entries = await layout.read_index()
    except ActionError as exc:
        return {tag: failed(tag, str(exc)) for tag in expected}
    limit = asyncio.Semaphore(concurrency)

    async def load(tag: str, digest: str) -> StoredImage | ImageOutcome:
        try:
            async with limit:
                return await load_image(layout, entries, tag, digest)
        except ImageProblem as exc:
            return failed(tag, str(exc))

    loaded = dict(
        zip(expected, await asyncio.gather(*(load(t, d) for t, d in expected.items())), strict=True)
    )
    images = [image for image in loaded.values() if isinstance(image, StoredImage)]
    users: dict[str, list[str]] = {}
    blobs: dict[str, Descriptor] = {}
    for image in images:
        for blob in image.blobs:
            users.setdefault(blob.digest, []).append(image.tag)
            blobs.setdefault(blob.digest, blob)

    async def check(blob: Descriptor) -> str | None:
        async with limit:
            try:
                return await layout.check_blob(blob)
            except ActionError as exc:
                return f"blob {blob.digest} cannot be read: {exc}"

    problems = dict(zip(blobs, await asyncio.gather(*map(check, blobs.values())), strict=True))
    for image in images:
        bad = [digest for digest in dict.fromkeys(b.digest for b in image.blobs) if problems[digest]]
        if bad:
            more = f" (and {len(bad) - 1} more blob(s) of it)" if len(bad) > 1 else ""
            text = f"{problems[bad[0]]}; used by {', '.join(sorted(users[bad[0]]))}{more}"
            loaded[image.tag] = failed(image.tag, text)
    return loaded
