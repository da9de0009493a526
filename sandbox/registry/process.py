"""A child program serving HTTP on a local port: started, waited for until it answers, and stopped."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path

import aiohttp

READY_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0
_POLL_INTERVAL = 0.05


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel has just handed out on host (port 0) and released again, for a child to bind."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


class ChildServer:
    """One run of a program whose output goes to `log_path`; `start` returns once `ready_url` answers
    with one of `ready_statuses` (over HTTPS verified with `ready_ssl` when given), and fails with
    the log's tail if the program exits first."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.log_path = log_path
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode is None

    @property
    def pid(self) -> int | None:
        """The running program's process ID."""
        return self._proc.pid if self.running and self._proc is not None else None

    async def start(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        ready_url: str,
        ready_statuses: Collection[int],
        ready_within: float = READY_TIMEOUT,
        ready_ssl: ssl.SSLContext | None = None,
    ) -> None:
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=dict(env),
                start_new_session=True,
            )
        try:
            await asyncio.wait_for(self._wait_ready(ready_url, ready_statuses, ready_ssl), ready_within)
        except BaseException as err:
            await self.stop()
            if isinstance(err, TimeoutError):
                raise RuntimeError(
                    f"{self.name} did not answer {ready_url} within {ready_within}s{self._tail()}"
                ) from err
            raise

    async def _wait_ready(self, url: str, statuses: Collection[int], context: ssl.SSLContext | None) -> None:
        proc = self._proc
        assert proc is not None
        client_timeout = aiohttp.ClientTimeout(total=2)
        connector = aiohttp.TCPConnector(ssl=context if context is not None else True)
        async with aiohttp.ClientSession(timeout=client_timeout, connector=connector) as session:
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"{self.name} exited with {proc.returncode} at start{self._tail()}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.get(url) as resp:
                        if resp.status in statuses:
                            return
                # Polling: the child tells nothing when it starts listening but its log line.
                await asyncio.sleep(_POLL_INTERVAL)

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_TIMEOUT; waits for the process to be gone."""
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    def _tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"; last lines of {self.log_path}:\n{tail}" if tail else ""
