"""Files on a node over SFTP (`Session.files()`): open, stat, mkdir, chmod, rename, remove and
free space, each failure a `RemoteFileError` naming the node, the operation and the path."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import cast

import asyncssh

from actions.errors import RemoteFileError
from actions.ssh.reasons import reason


@dataclass(frozen=True)
class RemoteStat:
    """What SFTP says about a path on a node."""

    size: int
    mode: int
    """The permission bits (0o600)."""
    is_dir: bool


class RemoteFile:
    """A file open over SFTP; bytes only."""

    def __init__(self, files: RemoteFiles, path: str, handle: asyncssh.SFTPClientFile) -> None:
        self._files, self._path, self._handle = files, path, handle

    async def read(self, size: int) -> bytes:
        """Up to `size` bytes from the current position; b"" at the end."""
        with self._files.failing("read", self._path):
            return cast(bytes, await self._handle.read(size))

    async def write(self, data: bytes) -> None:
        """Append data."""
        with self._files.failing("write", self._path):
            await self._handle.write(data)

    async def fsync(self) -> None:
        """Onto the node's disk (OpenSSH's fsync@openssh.com)."""
        with self._files.failing("fsync", self._path):
            await self._handle.fsync()


class RemoteFiles:
    """A small file API on a node over SFTP: every failure a `RemoteFileError` naming the node,
    the operation and the path (`missing` when it does not exist)."""

    def __init__(self, address: str, sftp: asyncssh.SFTPClient) -> None:
        self.address = address
        self._sftp = sftp

    @contextlib.contextmanager
    def failing(self, operation: str, path: str) -> Iterator[None]:
        """Translate SFTP's errors inside the block."""
        try:
            yield
        except (asyncssh.SFTPNoSuchFile, asyncssh.SFTPNoSuchPath):
            raise RemoteFileError(f"{self.address}: {path} does not exist.", missing=True) from None
        except (asyncssh.Error, OSError) as exc:
            raise RemoteFileError(f"{self.address}: {operation} of {path} failed ({reason(exc)}).") from None

    @asynccontextmanager
    async def open(self, path: str, mode: str = "rb", permissions: int = 0o600) -> AsyncIterator[RemoteFile]:
        """Open path: "rb" to read, "wb" to create or truncate it with `permissions`."""
        attrs = asyncssh.SFTPAttrs(permissions=permissions) if "w" in mode else asyncssh.SFTPAttrs()
        with self.failing("open", path):
            handle = await self._sftp.open(path, mode, attrs, encoding=None, block_size=256 * 1024)
        try:
            yield RemoteFile(self, path, handle)
        finally:
            with self.failing("close", path):
                await handle.close()

    async def stat(self, path: str) -> RemoteStat | None:
        """Size, permissions and kind of path; None when it does not exist."""
        try:
            with self.failing("stat", path):
                attrs = await self._sftp.stat(path)
        except RemoteFileError as exc:
            if exc.missing:
                return None
            raise
        mode = attrs.permissions or 0
        return RemoteStat(attrs.size or 0, mode & 0o7777, (mode & 0o170000) == 0o040000)

    async def mkdir(self, path: str, permissions: int = 0o700) -> None:
        """Create the directory path and its parents as needed; an existing one is left as it is."""
        with self.failing("mkdir", path):
            await self._sftp.makedirs(path, asyncssh.SFTPAttrs(permissions=permissions), exist_ok=True)

    async def chmod(self, path: str, permissions: int) -> None:
        with self.failing("chmod", path):
            await self._sftp.chmod(path, permissions)

    async def rename(self, source: str, destination: str) -> None:
        """Rename over an existing destination (OpenSSH's posix-rename@openssh.com)."""
        with self.failing("rename", source):
            await self._sftp.posix_rename(source, destination)

    async def remove(self, path: str) -> None:
        """Remove the file path; one that does not exist is no error."""
        try:
            with self.failing("remove", path):
                await self._sftp.remove(path)
        except RemoteFileError as exc:
            if not exc.missing:
                raise

    async def free_bytes(self, path: str) -> int:
        """The bytes an unprivileged user may still write on path's filesystem (statvfs@openssh.com)."""
        with self.failing("statvfs", path):
            vfs = await self._sftp.statvfs(path)
        return int(vfs.bavail) * int(vfs.frsize)
