"""Reading a command's stdout and stderr together, line by line, in bounded memory."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from actions.output_lines import Cut, LineSplitter

CHUNK = 32 * 1024


class Reader(Protocol):
    """One output stream of a running command (asyncssh's `SSHReader[bytes]`)."""

    async def read(self, n: int = -1) -> bytes: ...


class HandlerFailed(Exception):
    """The line handler raised; the streams themselves were fine."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


async def pump_lines(
    stdout: Reader, stderr: Reader, on_line: Callable[[str], Awaitable[None]], *, cut: Cut | None = None
) -> None:
    """Hand every line of both streams to `on_line` as it completes, until both end; a line longer
    than the splitter's bound goes in pieces, cut where `cut` says (`LineSplitter`).

    Lines go out one at a time, in the order their chunks arrived. While `on_line` works, nothing
    more is read, so a slow handler slows the command (through SSH flow control) instead of
    piling its output up here. Whatever `on_line` raises comes out wrapped in `HandlerFailed`,
    so that it cannot pass for a failure of the streams.
    """
    turn = asyncio.Lock()  # asyncio's lock is fair: FIFO, no barging
    pending: list[str] = []
    splitter = LineSplitter(lambda _channel, line: pending.append(line), cut=cut)

    async def deliver() -> None:
        lines = pending[:]
        pending.clear()
        async with turn:
            for line in lines:
                try:
                    await on_line(line)
                except Exception as exc:
                    raise HandlerFailed(exc) from exc

    async def pump(channel: int, source: Reader) -> None:
        while chunk := await source.read(CHUNK):
            splitter.feed(channel, chunk)  # no await between filling `pending` and taking it
            await deliver()

    await _all_or_first_error(pump(1, stdout), pump(2, stderr))
    splitter.flush()
    await deliver()


async def _all_or_first_error(*jobs: Coroutine[Any, Any, None]) -> None:
    """Run `jobs` concurrently until all are done; the first one to fail cancels the others."""
    tasks = [asyncio.create_task(job) for job in jobs]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
