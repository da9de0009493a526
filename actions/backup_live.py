"""What a backup of a live MinIO may see change, and what it may not (docs/architecture.md, "Backup").

MinIO keeps writing to its drive while it serves. Its data scanner rewrites its usage caches
(`.minio.sys/buckets/.usage.json`, `.bloomcycle.bin`, `.usage-cache.bin*`, per bucket
`.minio.sys/buckets/<bucket>/.usage-cache.bin*`) about once a minute, and uploads are staged in
`.minio.sys/tmp`, where deleted data also waits (`.minio.sys/tmp/.trash`) to be freed. None of this
is object data: MinIO rebuilds the caches by scanning, and at start it moves whatever `.minio.sys/tmp`
holds aside and recreates it. Everything else (the buckets' objects, `.minio.sys/config`, the bucket
metadata `.minio.sys/buckets/<bucket>/.metadata.bin`, `format.json`, multipart uploads) is state
that a backup must hold exactly as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from actions.errors import BackupInconsistent

EXCLUDED: tuple[tuple[str, str], ...] = (
    (".minio.sys/tmp", "MinIO's staging of uploads and its trash; MinIO empties and recreates it at start"),
    (".minio.sys/tmp-old", "earlier runs' staging, which MinIO deletes in the background"),
)
"""Paths under the MinIO directory left out of the archive, with the reason."""

BOOKKEEPING = (
    r"^[.]minio[.]sys/buckets/(([^/]+/)?[.]usage-cache[.]bin[^/]*|[.]usage[.]json|[.]bloomcycle[.]bin"
    r"|[.]tracker[.]bin|[.]background-heal[.]json)(/|$)"
)
"""POSIX ERE (for awk, and Python's re) of the paths, relative to the MinIO directory, that MinIO's
scanner and healer rewrite as they run: its usage caches, the bloom-filter cycle, the update tracker
and the heal tracker. Written with `[.]`, not a backslash, so awk's string escapes cannot change it."""

HOLDERS = r"^[.]minio[.]sys(/buckets(/[^/]+)?)?$"
"""Directories holding bookkeeping beside object data: a change of one is judged by what it holds."""

_BOOKKEEPING = re.compile(BOOKKEEPING)
_HOLDERS = re.compile(HOLDERS)
_EXCLUDED = tuple(path for path, _ in EXCLUDED)
_MESSAGES = (
    (re.compile(r"^(?:tar: )?(?P<path>.+): file changed as we read it$"), "changed while read"),
    (re.compile(r"^(?:tar: )?(?P<path>.+): File removed before we read it$"), "removed before read"),
    (re.compile(r"^(?:tar: )?(?P<path>.+): File shrank by \d+ bytes?(?:; padding with zeros)?$"), "shrank"),
)


@dataclass(frozen=True)
class Change:
    """One path that GNU tar saw change while it archived it, relative to the MinIO directory."""

    path: str
    what: str
    """changed while read, removed before read, shrank"""

    def __str__(self) -> str:
        return f"{self.path or '.'} ({self.what})"


@dataclass(frozen=True)
class Judgement:
    """What changed during one archive run, sorted into what a valid backup tolerates and what not."""

    tolerated: tuple[str, ...]
    """Bookkeeping that changed, each with why it does not matter."""
    objects: tuple[str, ...]
    """Object data that changed: the archive is not a consistent backup."""


class ObjectsChanged(BackupInconsistent):
    """Object data changed while it was archived; `objects` names what changed."""

    def __init__(self, message: str, objects: tuple[str, ...]) -> None:
        super().__init__(message)
        self.objects = objects


def kind(path: str) -> str:
    """`excluded`, `bookkeeping`, `holder` or `object` for a path relative to the MinIO directory."""
    if any(path == top or path.startswith(top + "/") for top in _EXCLUDED):
        return "excluded"
    if _BOOKKEEPING.search(path):
        return "bookkeeping"
    if _HOLDERS.search(path):
        return "holder"
    return "object"


def parse_change(line: str, minio_dir: str) -> Change | None:
    """The change a line of GNU tar's stderr reports, or None when it reports none."""
    for pattern, what in _MESSAGES:
        found = pattern.match(line.rstrip("\n"))
        if found:
            return Change(relative(_unquote(found["path"]), minio_dir), what)
    return None


def relative(path: str, minio_dir: str) -> str:
    """`path` as tar printed it, relative to the MinIO directory ('' for the directory itself)."""
    top = minio_dir.rstrip("/")
    path = path.rstrip("/")
    for prefix in (top, top.lstrip("/")):
        if path == prefix:
            return ""
        if path.startswith(prefix + "/"):
            return path[len(prefix) + 1 :]
    return path


def judge(changes: tuple[Change, ...], moved: tuple[str, ...]) -> Judgement:
    """Sort tar's changes and the object manifest's differences (`moved`, before against after).

    A holder directory (`.minio.sys/buckets` and the like) changes when a cache object is created
    or removed in it; it is tolerated when the manifest shows no object entry came or went.
    """
    tolerated: list[str] = []
    objects: list[str] = list(moved)
    for change in changes:
        sort = kind(change.path)
        if sort == "bookkeeping":
            tolerated.append(f"{change}: MinIO's scanner rewrites it; MinIO rebuilds it if it is stale")
        elif sort == "excluded":
            tolerated.append(f"{change}: not in the archive")
        elif sort == "holder" and not moved:
            tolerated.append(f"{change}: holds MinIO's bookkeeping; no object entry in it changed")
        else:
            objects.append(str(change))
    return Judgement(tuple(dict.fromkeys(tolerated)), tuple(dict.fromkeys(objects)))


def excluded_notes() -> tuple[str, ...]:
    """What every archive leaves out, and why, as a node's result lists it."""
    return tuple(f"{path}: {why}" for path, why in EXCLUDED)


def _unquote(path: str) -> str:
    # GNU tar quotes names with its "escape" style and, after quotearg_colon, colons as well.
    return re.sub(r"\\(.)", r"\1", path) if "\\" in path else path
