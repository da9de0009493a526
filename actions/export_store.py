"""Where an image export lives (docs/architecture.md, "Custom images"): a directory regclean's own
disk holds (`LocalExportStore`), or a node's disk over SFTP (`SftpExportStore`).

A store knows files, not images: paths are relative to its root with `/` between parts. Every file
is written under a temporary name beside its final one and renamed only by `BlobSink.commit()`,
after the caller checked what it wrote; files are 0600, directories 0700. Reading a file that does
not exist raises `FileNotFoundError`; any other failure is an `ActionError` naming the path.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import ParamSpec, Protocol, TypeVar

from actions.errors import ExportError, RemoteFileError
from actions.ssh import RemoteFile, RemoteFiles, SshTarget, connect

CHUNK = 1 << 20
"""Bytes per read and per write: few system calls and thread hops, bounded memory."""
DIRS = ("", "blobs", "blobs/sha256")
P = ParamSpec("P")
T = TypeVar("T")


class BlobSink(Protocol):
    """A file being written under a temporary name."""

    async def write(self, data: bytes) -> None:
        """Append data."""

    async def commit(self) -> None:
        """Make the file durable (fsync), 0600, and rename it to its final name."""

    async def discard(self) -> None:
        """Remove the temporary file; the final name is left as it was."""


class ExportStore(Protocol):
    """The files of one OCI image layout."""

    @property
    def where(self) -> str:
        """The root, as messages name it (`/var/lib/regclean/export`, `10.0.0.11:/cpaas/export`)."""

    async def prepare(self) -> None:
        """Create the root, `blobs` and `blobs/sha256` (0700) if missing."""

    async def free_bytes(self) -> int:
        """Bytes that may still be written on the root's filesystem."""

    async def size(self, path: str) -> int | None:
        """The size of the file path; None when it does not exist."""

    def chunks(self, path: str) -> AsyncGenerator[bytes, None]:
        """The bytes of the file path, a chunk at a time; a reader that may stop early uses it in
        `contextlib.aclosing`, so that the file is closed then and not when the generator is collected."""

    async def create(self, path: str) -> BlobSink:
        """A new file that becomes path on `commit()`."""


class LocalExportStore:
    """A directory of this machine (`REGCLEAN_EXPORT_DIR`); blocking calls run in worker threads."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def where(self) -> str:
        return str(self.root)

    async def prepare(self) -> None:
        await _local(self.root, self._prepare)

    def _prepare(self) -> None:
        for part in DIRS:
            directory = self.root / part
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.chmod(directory, 0o700)

    async def free_bytes(self) -> int:
        existing = self.root
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        vfs = await _local(existing, os.statvfs, existing)
        return vfs.f_bavail * vfs.f_frsize

    async def size(self, path: str) -> int | None:
        try:
            return (await _local(self.root / path, os.stat, self.root / path)).st_size
        except FileNotFoundError:
            return None

    async def chunks(self, path: str) -> AsyncGenerator[bytes, None]:
        file = self.root / path
        handle = await _local(file, open, file, "rb")
        try:
            while data := await _local(file, handle.read, CHUNK):
                yield data
        finally:
            handle.close()

    async def create(self, path: str) -> BlobSink:
        final = self.root / path
        temporary = final.with_name(f".{final.name}.{secrets.token_hex(4)}.partial")
        fd = await _local(temporary, os.open, temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return _LocalSink(fd, temporary, final)


class _LocalSink:
    """Writes go to the kernel a megabyte at a time, from a worker thread."""

    def __init__(self, fd: int, temporary: Path, final: Path) -> None:
        self._fd, self._temporary, self._final = fd, temporary, final
        self._buffer: list[bytes] = []
        self._buffered = 0

    async def write(self, data: bytes) -> None:
        self._buffer.append(data)
        self._buffered += len(data)
        if self._buffered >= CHUNK:
            await _local(self._temporary, self._flush)

    def _flush(self) -> None:
        data = b"".join(self._buffer)
        self._buffer, self._buffered = [], 0
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    async def commit(self) -> None:
        await _local(self._final, self._commit)

    def _commit(self) -> None:
        try:
            self._flush()
            os.fchmod(self._fd, 0o600)
            os.fsync(self._fd)
        finally:
            os.close(self._fd)
        os.replace(self._temporary, self._final)
        directory = os.open(self._final.parent, os.O_RDONLY)
        try:  # the rename itself survives a crash only once its directory is on disk
            os.fsync(directory)
        finally:
            os.close(directory)

    async def discard(self) -> None:
        def remove() -> None:
            with contextlib.suppress(OSError):  # closed by a commit that failed
                os.close(self._fd)
            self._temporary.unlink(missing_ok=True)

        await asyncio.to_thread(remove)


class SftpExportStore:
    """A directory on a node, over SFTP (`RemoteFiles` in `actions/ssh/files.py`, host key verified)."""

    def __init__(self, files: RemoteFiles, root: str) -> None:
        self.files = files
        self.root = root.rstrip("/") or "/"

    @property
    def where(self) -> str:
        return f"{self.files.address}:{self.root}"

    def _path(self, path: str) -> str:
        return f"{self.root}/{path}" if path else self.root

    async def prepare(self) -> None:
        for part in DIRS:
            await self.files.mkdir(self._path(part), 0o700)
            await self.files.chmod(self._path(part), 0o700)

    async def free_bytes(self) -> int:
        existing = self.root
        while await self.files.stat(existing) is None and existing not in ("/", ""):
            existing = existing.rsplit("/", 1)[0] or "/"
        return await self.files.free_bytes(existing)

    async def size(self, path: str) -> int | None:
        found = await self.files.stat(self._path(path))
        return None if found is None else found.size

    async def chunks(self, path: str) -> AsyncGenerator[bytes, None]:
        try:
            async with self.files.open(self._path(path), "rb") as file:
                while data := await file.read(CHUNK):
                    yield data
        except RemoteFileError as exc:
            if exc.missing:
                raise FileNotFoundError(self._path(path)) from None
            raise

    async def create(self, path: str) -> BlobSink:
        final = self._path(path)
        head, _, name = final.rpartition("/")
        temporary = f"{head}/.{name}.{secrets.token_hex(4)}.partial"
        stack = AsyncExitStack()
        file = await stack.enter_async_context(self.files.open(temporary, "wb", 0o600))
        return _SftpSink(self.files, file, stack, temporary, final)


@asynccontextmanager
async def sftp_export_store(target: SshTarget, root: str) -> AsyncIterator[SftpExportStore]:
    """The export directory root on a node: one SSH connection (host key verified) and one SFTP
    channel for as long as the store is used."""
    async with connect(target) as session, session.files() as files:
        yield SftpExportStore(files, root)


class _SftpSink:
    def __init__(
        self, files: RemoteFiles, file: RemoteFile, stack: AsyncExitStack, temporary: str, final: str
    ) -> None:
        self._files, self._file, self._stack = files, file, stack
        self._temporary, self._final = temporary, final

    async def write(self, data: bytes) -> None:
        await self._file.write(data)

    async def commit(self) -> None:
        await self._file.fsync()
        await self._stack.aclose()
        await self._files.chmod(self._temporary, 0o600)
        await self._files.rename(self._temporary, self._final)

    async def discard(self) -> None:
        try:
            await self._stack.aclose()
        finally:
            await self._files.remove(self._temporary)


async def _local(path: Path, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """call(*args) in a worker thread; an OSError but a missing file becomes an ExportError naming path."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ExportError(
            f"Cannot use {path} for the image export: {exc.strerror or type(exc).__name__}. "
            "Check REGCLEAN_EXPORT_DIR (its disk, its permissions)."
        ) from None
