"""A TCP port that can stop accepting (connection refused) and accept again on the same number."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

log = logging.getLogger(__name__)

Accepted = Callable[[socket.socket], None]
"""Called with each accepted, non-blocking socket."""


class PortListener:
    """A loopback TCP port owned by one node.

    While refusing, the port stays bound by a socket that does not listen, so the kernel answers
    connects with a reset (ECONNREFUSED) and port-0 binds elsewhere cannot take the number.
    Everything is synchronous so that a fault switched in a test holds for the next line.
    """

    def __init__(self, address: str, on_accept: Accepted) -> None:
        self.address = address
        self.port = 0
        self._on_accept = on_accept
        self._sock: socket.socket | None = None
        self._listening = False

    def bind(self) -> int:
        """Reserve a port chosen by the kernel; returns it. Not yet listening."""
        self._sock = _bound(self.address, 0)
        self.port = self._sock.getsockname()[1]
        return self.port

    @property
    def listening(self) -> bool:
        """Whether connects are accepted."""
        return self._listening

    def listen(self) -> None:
        """Start accepting on the reserved port (idempotent)."""
        if self._listening:
            return
        if self._sock is None:
            raise RuntimeError("the port is not bound")
        self._sock.listen(128)
        asyncio.get_running_loop().add_reader(self._sock.fileno(), self._accept_ready)
        self._listening = True

    def refuse(self) -> None:
        """Stop accepting; the port stays reserved. Accepted connections are not touched."""
        if not self._listening:
            return
        self._close()
        # Accepted sockets inherit SO_REUSEADDR, so this bind succeeds while they live on.
        self._sock = _bound(self.address, self.port)

    def close(self) -> None:
        """Release the port."""
        self._close()

    def _close(self) -> None:
        if self._sock is not None:
            if self._listening:
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
        self._listening = False

    def _accept_ready(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # e.g. EMFILE: leave the connect pending rather than spin
                log.warning("sandbox node %s: accept failed: %s", self.address, err)
                return
            conn.setblocking(False)
            self._on_accept(conn)


def _bound(address: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setblocking(False)
        sock.bind((address, port))
    except OSError:
        sock.close()
        raise
    return sock
