"""A stand-in for MinIO's background writers on one node's drive: the data scanner, staging and trash.

MinIO (cmd/data-scanner.go, cmd/data-usage.go) saves its usage caches as objects of its own
`.minio.sys` bucket: `buckets/.usage.json`, `buckets/.bloomcycle.bin`, `buckets/.usage-cache.bin`
and, per bucket, `buckets/<bucket>/.usage-cache.bin`. Like every object write on a drive
(cmd/xl-storage.go), a save writes the new `xl.meta` under `.minio.sys/tmp/<uuid>/`, renames it over
the old one, and moves what it replaced to `.minio.sys/tmp/.trash/<uuid>`, freed later. The real
scanner does this about once a minute; this one a few times a second, so that a backup meets it.

It runs for real, as a thread rewriting files in the drive, while it is on. So that a backup's tar
meets it however short the test's archive run, it also saves at the moment tar reads the bucket's
usage cache: as root, through a fanotify permission gate on the cache's `part.1` (tar's open of it
waits until the save is done, so the save lands while tar is inside that directory); otherwise on
inotify's word that the directory was opened, which is nearly always in time. Switched to objects,
it also rewrites one object's `xl.meta` the same way when a backup's tar opens that object's data
(`times` of them, or every time): a write to object data mid-backup.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import select
import struct
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

CACHES = (
    ".minio.sys/buckets/registry/.usage-cache.bin",
    ".minio.sys/buckets/.usage.json",
    ".minio.sys/buckets/.bloomcycle.bin",
    ".minio.sys/buckets/.usage-cache.bin",
)
"""The scanner's objects on the drive (directories holding xl.meta), the one a backup's tar takes
longest over first: saved at once when tar opens it, it changes while tar still reads it."""
BIG_CACHE = ".minio.sys/buckets/registry/.usage-cache.bin"
"""The bucket's usage cache, large enough on a big registry to need a data directory (part.1)."""
BLOBS = "registry/docker/registry/v2/blobs"
log = logging.getLogger(__name__)
_PARTIAL = re.compile(r"[.]partial-[0-9a-f]{8}$")
_IN_OPEN = 0x20
_FAN_CLASS_CONTENT, _FAN_CLOEXEC, _FAN_NONBLOCK = 0x04, 0x01, 0x02
_FAN_MARK_ADD, _FAN_OPEN_PERM, _FAN_ALLOW = 0x01, 0x00010000, 0x01
_AT_FDCWD = -100
_EVENT = struct.Struct("=IBBHQii")  # struct fanotify_event_metadata
_XL_HEADER = b"XL2 \x01\x00\x03\x00"


class MinioScanner:
    """MinIO's background writers on one drive: off until `start`, stopped by `stop` (idempotent)."""

    def __init__(
        self, minio_dir: Path, backup_dir: Path, *, interval: float = 0.25, cache_size: int = 2**20
    ) -> None:
        self.minio_dir = minio_dir
        self.backup_dir = backup_dir
        self.interval = interval
        """Seconds between two saves when nothing opens the caches."""
        self.cache_size = cache_size
        self.saves = 0
        """Times the caches were saved."""
        self.saves_during_backup = 0
        """Saves made while a backup's archive was being written on this node."""
        self.object_rewrites = 0
        """Times the object was rewritten (only when switched to objects)."""
        self.changed_object: str | None = None
        """The object file it rewrites, relative to the drive, once switched to objects."""
        self._objects_left: int | None = 0
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._inotify = -1
        self._fanotify = -1
        self._object: tuple[Path, Path] | None = None
        """The changed object's xl.meta and part.1."""
        self._count = 0

    @property
    def running(self) -> bool:
        """Whether the writer thread runs."""
        return self._thread is not None

    def start(self) -> None:
        """Lay out the caches (as the scanner's first cycle does) and start rewriting them."""
        if self._thread is not None:
            return
        for cache in CACHES:
            self._save(cache)
        part = self.minio_dir / BIG_CACHE / str(uuid.UUID(int=1)) / "part.1"
        if not part.exists():
            part.parent.mkdir(parents=True, exist_ok=True)
            with part.open("wb") as out:
                chunk = os.urandom(1 << 16)
                for _ in range(self.cache_size // len(chunk)):
                    out.write(chunk)
        (self.minio_dir / ".minio.sys" / "tmp" / ".trash").mkdir(parents=True, exist_ok=True)
        self._inotify = _inotify_init()
        for rel in (".minio.sys/buckets", *CACHES, str(part.parent.relative_to(self.minio_dir))):
            _watch(self._inotify, self.minio_dir / rel)
        self._fanotify = _fanotify_init()
        self._gate(part)
        if self._object is not None:
            self._watch_object()
        self._wake_r, self._wake_w = os.pipe()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"minio-scanner {self.minio_dir}", daemon=True)
        self._thread.start()

    def change_objects(self, times: int | None = 1) -> str:
        """Also rewrite an object's xl.meta while a backup's tar reads the bucket: `times` times in
        all, or None for no end. Returns the object file's path relative to the drive."""
        self._object = next(_large_objects(self.minio_dir / BLOBS))
        self.changed_object = str(self._object[0].relative_to(self.minio_dir))
        self._objects_left = times
        if self._thread is not None:
            self._watch_object()
        return self.changed_object

    def _watch_object(self) -> None:
        assert self._object is not None
        meta, data = self._object
        _watch(self._inotify, meta.parent)
        self._gate(data)

    def stop(self) -> None:
        """Stop rewriting and wait for the thread; what is in the trash stays."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        os.write(self._wake_w, b"x")
        thread.join()
        for fd in (self._wake_r, self._wake_w, self._inotify, self._fanotify):
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the fanotify group lets any open still waiting on it through
        self._wake_r = self._wake_w = self._inotify = self._fanotify = -1

    # --- the writer ------------------------------------------------------------------------------

    def _run(self) -> None:
        trash: list[Path] = []
        watched = [fd for fd in (self._inotify, self._fanotify, self._wake_r) if fd >= 0]
        while not self._stop.is_set():
            ready, _, _ = select.select(watched, [], [], self.interval)
            if self._wake_r in ready:
                break
            # The opens waiting now, taken before the save: one that comes after waits for the next.
            waiting = _waiting_opens(self._fanotify) if self._fanotify in ready else []
            try:
                self._cycle(ready, trash)
            except OSError as err:  # the drive went away under it (a test renamed it): MinIO logs and goes on
                log.warning("sandbox MinIO scanner on %s: %s", self.minio_dir, err)
            finally:
                if self._inotify in ready:
                    _drain(self._inotify)
                _allow(self._fanotify, waiting)  # only now may tar open the files it waited for

    def _cycle(self, ready: list[int], trash: list[Path]) -> None:
        """One save of every cache (and of the object, when switched to it and a backup reads it)."""
        opened = self._inotify in ready or self._fanotify in ready
        archiving = self._archiving()
        if opened and archiving and self.changed_object is not None and self._objects_left != 0:
            trash.append(self._replace(self.changed_object.removesuffix("/xl.meta"), 600))
            self.object_rewrites += 1
            if self._objects_left is not None:
                self._objects_left -= 1
        trash.extend(self._save(cache) for cache in CACHES)
        self.saves += 1
        self.saves_during_backup += archiving
        # What went to the trash a cycle or two ago is freed now, as MinIO's trash cleanup does.
        while len(trash) > 2 * len(CACHES):
            _remove(trash.pop(0))

    def _gate(self, path: Path) -> None:
        """Make every open of `path` wait until the writer has saved (as root; elsewhere a no-op)."""
        if self._fanotify < 0:
            return
        marked = _libc.fanotify_mark(
            self._fanotify, _FAN_MARK_ADD, _FAN_OPEN_PERM, _AT_FDCWD, os.fsencode(path)
        )
        if int(marked) < 0:
            raise OSError(ctypes.get_errno(), f"fanotify_mark {path}")

    def _save(self, cache: str) -> Path:
        return self._replace(cache, 300 + self._count % 97)

    def _replace(self, object_dir: str, size: int) -> Path:
        """Write xl.meta the way MinIO does: staged in tmp, renamed over, the old one to the trash."""
        self._count += 1
        tmp = self.minio_dir / ".minio.sys" / "tmp"
        staging = tmp / str(uuid.uuid4())
        staging.mkdir(parents=True)
        (staging / "xl.meta").write_bytes(_XL_HEADER + os.urandom(size))
        target = self.minio_dir / object_dir / "xl.meta"
        target.parent.mkdir(parents=True, exist_ok=True)
        trashed = tmp / ".trash" / str(uuid.uuid4())
        if target.exists():
            trashed.mkdir(parents=True)
            os.link(target, trashed / "xl.meta")
        os.rename(staging / "xl.meta", target)
        staging.rmdir()
        return trashed

    def _archiving(self) -> bool:
        """Whether a backup's tar is writing its archive on this node (its hidden partial file exists)."""
        with contextlib.suppress(FileNotFoundError), os.scandir(self.backup_dir) as entries:
            return any(_PARTIAL.search(e.name) for e in entries)
        return False


def gate_missing() -> str | None:
    """None when the fanotify gate works here (it makes tar meet the scanner every time); else why not."""
    fd = _fanotify_init()
    if fd < 0:
        return "the scanner's fanotify gate needs root (CAP_SYS_ADMIN); CI runs as root"
    os.close(fd)
    return None


def _large_objects(blobs: Path) -> Iterator[tuple[Path, Path]]:
    """(xl.meta, part.1) of the objects under `blobs` that keep their data in a data directory."""
    for meta in sorted(blobs.rglob("xl.meta")):
        for part in sorted(meta.parent.glob("*/part.1")):
            yield meta, part


def _remove(path: Path) -> None:
    if path.exists():
        for child in path.iterdir():
            child.unlink()
        path.rmdir()


_libc = ctypes.CDLL(None, use_errno=True)


def _inotify_init() -> int:
    fd = int(_libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC))
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    return fd


def _watch(fd: int, path: Path) -> None:
    if int(_libc.inotify_add_watch(fd, os.fsencode(path), _IN_OPEN)) < 0:
        raise OSError(ctypes.get_errno(), f"inotify_add_watch {path}")


_libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int, ctypes.c_char_p]


def _fanotify_init() -> int:
    """A fanotify group for permission events, or -1 where that is not allowed (not root)."""
    fd = int(_libc.fanotify_init(_FAN_CLASS_CONTENT | _FAN_CLOEXEC | _FAN_NONBLOCK, os.O_RDONLY))
    return fd if fd >= 0 else -1


def _waiting_opens(fd: int) -> list[tuple[int, int]]:
    """The events queued on the fanotify group now, as (file descriptor, mask)."""
    events = []
    with contextlib.suppress(BlockingIOError):
        while data := os.read(fd, 4096):
            offset = 0
            while offset + _EVENT.size <= len(data):
                event_len, _, _, _, mask, event_fd, _ = _EVENT.unpack_from(data, offset)
                offset += max(event_len, _EVENT.size)
                if event_fd >= 0:
                    events.append((event_fd, mask))
    return events


def _allow(fd: int, events: list[tuple[int, int]]) -> None:
    """Answer each waiting open with FAN_ALLOW and close the event's file descriptor. Only these:
    an open that came in since waits for the next save, however quickly tar got to it."""
    for event_fd, mask in events:
        if mask & _FAN_OPEN_PERM:
            os.write(fd, struct.pack("=iI", event_fd, _FAN_ALLOW))
        os.close(event_fd)


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        while os.read(fd, 65536):
            pass
