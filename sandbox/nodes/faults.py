"""The faults a sandbox node can inject, and the TCP reset that ends a dropped connection."""

from __future__ import annotations

import asyncio
import fcntl
import socket
import struct
import termios
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncssh

# Waiting for the client to acknowledge what was sent before the reset: up to 2 s in 5 ms steps.
_FLUSH_POLLS = 400
_FLUSH_STEP = 0.005


@dataclass
class NodeFaults:
    """What is currently wrong with a node; `NodeFaults()` is a healthy node."""

    refusing: bool = False
    """Connects are refused (the port is bound but does not listen)."""
    blackholed: bool = False
    """Connects are accepted and then nothing is ever sent."""
    drop_after: int | None = None
    """Reset the connection once an exec session has sent this many bytes of stdout+stderr."""
    host_key: Path | None = None
    """Serve this host key instead of the node's own."""
    held: list[socket.socket] = field(default_factory=list)
    """Blackholed connections, kept open until the fault is cleared."""

    def release_held(self) -> None:
        """Close the blackholed connections."""
        for sock in self.held:
            sock.close()
        self.held.clear()


async def reset_connection(chan: asyncssh.SSHServerChannel[bytes]) -> None:
    """Abort the connection of `chan` with a TCP reset, once what was already written has reached the client.

    Waiting for the kernel's unacknowledged-bytes count (SIOCOUTQ) to reach zero makes the cut
    land exactly after the bytes the session sent, instead of discarding some of them with the
    reset. The wait is bounded: a client that stopped reading gets the reset anyway.
    """
    conn = chan.get_connection()
    sock = conn.get_extra_info("socket")
    for _ in range(_FLUSH_POLLS):
        if chan.get_write_buffer_size() == 0 and (sock is None or _unacked_bytes(sock) == 0):
            break
        await asyncio.sleep(_FLUSH_STEP)
    if sock is not None:
        # Linger on with a zero timeout: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.abort()


def _unacked_bytes(sock: Any) -> int:
    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return 0
    return int(struct.unpack("i", raw)[0])
