"""One simulated control-plane node: an asyncssh server running real shell commands."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import asyncssh

from .faults import NodeFaults
from .listener import PortListener
from .scanner import MinioScanner
from .session import CommandSession

log = logging.getLogger(__name__)


class SandboxNode:
    """One control-plane node: an asyncssh server on `address` running real shell commands (/bin/bash)
    with `root` standing in for the node's filesystem under /cpaas.

    Commands run on this machine with `root` as their working directory and HOME; the node's paths
    are real absolute paths under `root` (`minio_dir`, `backup_dir`). SFTP serves the whole
    filesystem, without a chroot, as sshd's internal-sftp does for root.
    """

    def __init__(
        self,
        address: str,
        root: Path,
        host_key: Path,
        authorized_client_key: Path,
        *,
        username: str = "root",
    ) -> None:
        self.address = address
        self.root = root
        self.username = username
        self.minio_dir = root / "cpaas" / "minio"
        self.backup_dir = root / "cpaas" / "backup"
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        self.bin_dir = root / "usr" / "local" / "bin"
        """First on the PATH of the node's commands: where the vendor's tools (`violet`) are installed."""
        self.commands: list[str] = []
        """Every exec request received, in order."""
        self.scanner = MinioScanner(self.minio_dir, self.backup_dir)
        """MinIO's background writers on this node's drive (switch: `scanner.start()`, and
        `scanner.change_objects()` to write to object data as well); stopped with the node."""
        self._host_key = host_key
        self._client_key = asyncssh.read_public_key(authorized_client_key)
        self._faults = NodeFaults()
        self._listener = PortListener(address, self._accepted)
        self._conns: set[asyncssh.SSHServerConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._env = {
            "HOME": str(root),
            "PATH": f"{self.bin_dir}{os.pathsep}{os.environ.get('PATH', os.defpath)}",
            "LC_ALL": "C",
            "USER": username,
            "LOGNAME": username,
            "SHELL": "/bin/bash",
        }

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the kernel picked at start; it stays reserved until stop, refused or not."""
        if not self._listener.port:
            raise RuntimeError(f"node {self.address} is not started")
        return self._listener.port

    async def start(self) -> None:
        """Bind a free port on `address` and accept SSH connections (unless refuse() came first)."""
        self._listener.bind()
        if not self._faults.refusing:
            self._listener.listen()

    async def stop(self) -> None:
        """Release the port, drop every connection and kill what their sessions still run."""
        self.scanner.stop()
        self._listener.close()
        self._faults.release_held()
        conns = list(self._conns)
        for conn in conns:
            conn.abort()
        # Sessions end by themselves once their connection is gone, killing and reaping their
        # process; cancelling them midway could leave a subprocess transport for the loop's end.
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=10)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, *(c.wait_closed() for c in conns), return_exceptions=True)

    # --- faults --------------------------------------------------------------------------------

    def refuse(self) -> None:
        """Stop listening: connects are refused. The port number stays reserved for this node."""
        self._faults.refusing = True
        self._listener.refuse()

    def blackhole(self) -> None:
        """Accept TCP on the same port but never send the SSH banner: the client's connect times out."""
        self._faults.refusing = False
        self._faults.blackholed = True
        self._listener.listen()

    def drop_after(self, nbytes: int) -> None:
        """Reset the connection (no exit status) once an exec session has sent nbytes of output."""
        self._faults.drop_after = nbytes

    def replace_host_key(self, key: Path) -> None:
        """Serve another host key to new connections ("the host key has changed")."""
        self._faults.host_key = key

    def clear_faults(self) -> None:
        """Undo every fault: listen again, close blackholed connections, serve the own host key."""
        self._faults.release_held()
        self._faults = NodeFaults()
        self._listener.listen()

    # --- connections ---------------------------------------------------------------------------

    def _accepted(self, sock: socket.socket) -> None:
        if self._faults.blackholed:
            self._faults.held.append(sock)
            return
        self._spawn(self._handshake(sock))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handshake(self, sock: socket.socket) -> None:
        try:
            await asyncssh.run_server(
                sock,
                server_host_keys=[self._faults.host_key or self._host_key],
                server_factory=lambda: _Gate(self.username, self._client_key, self._conns),
                process_factory=self._exec,
                sftp_factory=asyncssh.SFTPServer,
                encoding=None,
                password_auth=False,
                kbdint_auth=False,
                gss_host=None,
                allow_scp=False,
            )
        except (OSError, asyncssh.Error) as err:  # TimeoutError is an OSError
            # The client gave up or failed auth; asyncssh has closed the connection already.
            log.debug("sandbox node %s: handshake ended: %r", self.address, err)

    async def _exec(self, process: asyncssh.SSHServerProcess[bytes]) -> None:
        if process.command is not None:
            self.commands.append(process.command)
        session = CommandSession(
            process, cwd=self.root, env=self._env, drop_after=lambda: self._faults.drop_after
        )
        task = asyncio.current_task()
        if task is not None:  # so that stop() waits for the local process to be killed
            self._tasks.add(task)
        try:
            await session.run()
        finally:
            if task is not None:
                self._tasks.discard(task)


class _Gate(asyncssh.SSHServer):
    """Public-key auth only, for exactly one user and one key; tracks the node's connections."""

    def __init__(self, username: str, key: asyncssh.SSHKey, conns: set[asyncssh.SSHServerConnection]) -> None:
        self._username = username
        self._key = key
        self._conns = conns
        self._conn: asyncssh.SSHServerConnection | None = None

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._conns.add(conn)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._conn is not None:
            self._conns.discard(self._conn)

    def begin_auth(self, username: str) -> bool:
        return True  # always ask for a key, even for an unknown user, as sshd does

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        return username == self._username and key.public_data == self._key.public_data
