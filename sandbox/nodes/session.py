"""One exec request on a sandbox node: `/bin/bash -c COMMAND` with its pipes bridged to the channel."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import asyncssh

from .faults import reset_connection

_CHUNK = 32 * 1024
_GONE = (OSError, asyncssh.Error)
"""What the channel or a pipe raises once the other side has gone away."""

DropLimit = Callable[[], int | None]
"""Returns the node's current `drop_after` fault, read on every chunk so it can change mid-session."""


class CommandSession:
    """Runs one command as a local process, the way sshd runs it for a real node.

    stdin, stdout and stderr stream both ways as bytes; the exit code or signal goes back as the
    exit status or exit signal. When the channel closes first (the client went away), the local
    process group is killed, as sshd's hang-up would end it.
    """

    def __init__(
        self,
        process: asyncssh.SSHServerProcess[bytes],
        *,
        cwd: Path,
        env: Mapping[str, str],
        drop_after: DropLimit,
    ) -> None:
        self._process = process
        self._cwd = cwd
        self._env = dict(env)
        self._drop_after = drop_after
        self._local: asyncio.subprocess.Process | None = None
        self._pipes: tuple[asyncio.BaseTransport, ...] = ()
        self._dropping = False
        self._drop_task: asyncio.Task[None] | None = None
        self.sent = 0
        """Bytes of stdout and stderr sent to the client so far."""

    async def run(self) -> None:
        """Run the command to its end, or until the channel closes."""
        command = self._process.command
        argv = ["/bin/bash"] if command is None else ["/bin/bash", "-c", command]
        out_fd, stdout, out_pipe = await _read_pipe()
        err_fd, stderr, err_pipe = await _read_pipe()
        self._pipes = (out_pipe, err_pipe)
        try:
            local = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=out_fd,
                stderr=err_fd,
                cwd=self._cwd,
                env=self._env,
                start_new_session=True,  # its own process group, so that a hang-up reaches tar as well
            )
        except BaseException:
            out_pipe.close()
            err_pipe.close()
            raise
        finally:
            os.close(out_fd)
            os.close(err_fd)
        self._local = local
        assert local.stdin is not None
        feed = asyncio.create_task(self._feed(local.stdin, local.pid))
        closed = asyncio.create_task(self._process.wait_closed())
        outputs = asyncio.gather(
            self._relay(stdout, self._process.stdout), self._relay(stderr, self._process.stderr)
        )
        try:
            # Like sshd: the exit status goes out once both pipes hit EOF and the process has exited.
            if await _before(outputs, closed) and await _before(local.wait(), closed) and not self._dropping:
                self._report(local.returncode)
        finally:
            await self._kill()
            for task in (feed, closed, outputs):
                task.cancel()
            await asyncio.gather(feed, closed, outputs, return_exceptions=True)
            if self._drop_task is not None:
                await self._drop_task

    async def _feed(self, sink: asyncio.StreamWriter, pid: int) -> None:
        try:
            while True:
                try:
                    data = await self._process.stdin.read(_CHUNK)
                except asyncssh.SignalReceived as sig:  # the client's `signal` request
                    with contextlib.suppress(ValueError, AttributeError, ProcessLookupError):
                        os.kill(pid, signal.Signals["SIG" + sig.signal])
                    continue
                if not data:
                    break
                sink.write(data)
                await sink.drain()
        except _GONE:  # bash stopped reading, or the connection is gone
            pass
        finally:
            sink.close()

    async def _relay(self, source: asyncio.StreamReader, sink: asyncssh.SSHWriter[bytes]) -> None:
        try:
            while chunk := await source.read(_CHUNK):
                if self._dropping:
                    continue  # what the killed process left in the pipe never reaches the client
                limit = self._drop_after()
                if limit is not None and self.sent + len(chunk) >= limit:
                    chunk = chunk[: max(0, limit - self.sent)]
                    self._dropping = True
                    self._drop_task = asyncio.create_task(self._drop())
                sink.write(chunk)
                self.sent += len(chunk)
                await sink.drain()
        except _GONE:  # the channel is closed; `run` notices through `closed`
            pass

    async def _drop(self) -> None:
        # Kill first, so that once the client sees the reset the process is already gone.
        await self._kill()
        await reset_connection(self._process.channel)

    async def _kill(self) -> None:
        """Kill the process group if the process still runs, close its pipes and reap it."""
        local = self._local
        if local is None:
            return
        if local.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(local.pid, signal.SIGKILL)
        # Python 3.11's wait() returns only once every pipe it manages is closed; stdout and stderr
        # are ours, so close them here in case nobody reads them any more.
        for pipe in self._pipes:
            pipe.close()
        if local.stdin is not None:
            local.stdin.close()
        await local.wait()

    def _report(self, returncode: int | None) -> None:
        assert returncode is not None
        with contextlib.suppress(*_GONE):
            self._process.channel.write_eof()
            if returncode >= 0:
                self._process.exit(returncode)
                return
            try:
                name = signal.Signals(-returncode).name.removeprefix("SIG")
            except ValueError:  # a real-time signal without a name: report it the way a shell would
                self._process.exit(128 - returncode)
            else:
                self._process.exit_with_signal(name)


async def _before(main: Awaitable[Any], closed: asyncio.Future[None]) -> bool:
    """Await `main`, unless `closed` completes first; True when `main` finished."""
    task = asyncio.ensure_future(main)
    await asyncio.wait({task, closed}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return False
    task.result()
    return True


async def _read_pipe() -> tuple[int, asyncio.StreamReader, asyncio.BaseTransport]:
    """A pipe whose read end this process owns: (write fd for the child, reader, read transport)."""
    read_fd, write_fd = os.pipe()
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    try:
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
        )
    except BaseException:
        os.close(write_fd)
        raise
    return write_fd, reader, transport
