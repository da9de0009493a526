"""Seed images' pushes kept for the other processes of a test run.

With `SEED_CACHE` set to a directory (the test suite makes one per run, before its xdist workers
start, and they share it), each image's push is kept there as one JSON file, so that the first
sandbox of every other process copies it (`seed.py`) instead of pushing it again: an image is built
from its reference alone, so its push leaves the same objects in any process's bucket.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

SEED_CACHE = "REGCLEAN_SANDBOX_SEED_CACHE"
"""The environment variable naming the directory."""


@dataclass(frozen=True)
class Pushed:
    """What pushing one image left in the bucket, and its digests (config, layers, then manifest)."""

    objects: Mapping[str, bytes]
    digests: tuple[str, ...]
    platforms: tuple[str, ...] = ()
    """An index's platform manifests (also in `digests`): warmed as manifests, not as blobs."""


def _cache_file(reference: str) -> Path | None:
    directory = os.environ.get(SEED_CACHE)
    if not directory:
        return None
    return Path(directory) / (hashlib.sha256(reference.encode()).hexdigest() + ".json")


def kept_pushes(references: Iterable[str]) -> dict[str, Pushed]:
    """The pushes another process kept (`SEED_CACHE`) of these images."""
    found = {}
    for reference in references:
        path = _cache_file(reference)
        if path is None or not path.is_file():
            continue
        data = json.loads(path.read_text())
        objects = {key: base64.b64decode(body) for key, body in data["objects"].items()}
        found[reference] = Pushed(objects, tuple(data["digests"]), tuple(data["platforms"]))
    return found


def keep_pushes(pushed: Mapping[str, Pushed]) -> None:
    """Write each push for the other processes (`SEED_CACHE`); a file appears whole or not at all."""
    for reference, image in pushed.items():
        path = _cache_file(reference)
        if path is None or path.exists():
            continue
        data = {
            "objects": {key: base64.b64encode(body).decode() for key, body in image.objects.items()},
            "digests": list(image.digests),
            "platforms": list(image.platforms),
        }
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(data))
        partial.replace(path)
