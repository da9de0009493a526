"""Pumping two output streams into one line handler."""

from __future__ import annotations

import asyncio

import pytest

from actions.line_pump import HandlerFailed, pump_lines


class Stream:
    """An output stream whose chunks the test releases one by one."""

    def __init__(self) -> None:
        self.chunks: asyncio.Queue[bytes] = asyncio.Queue()

    def send(self, data: bytes) -> None:
        self.chunks.put_nowait(data)

    async def read(self, n: int = -1) -> bytes:
        return await self.chunks.get()


async def test_lines_of_both_streams_come_in_order_of_arrival_and_split_chunks_are_joined() -> None:
    out, err = Stream(), Stream()
    seen: list[str] = []

    async def on_line(line: str) -> None:
        seen.append(line)
        if line == "out 1":
            err.send(b"err 1\nerr ")
        elif line == "err 1":
            out.send(b"out 2\nno newline at the end")
            out.send(b"")
        elif line == "out 2":
            err.send(b"2\n")
            err.send(b"")

    out.send(b"out")
    out.send(b" 1\n")
    await asyncio.wait_for(pump_lines(out, err, on_line), 5)
    assert seen == ["out 1", "err 1", "out 2", "err 2", "no newline at the end"]


async def test_what_the_handler_raises_is_wrapped_and_stops_both_streams() -> None:
    out, err = Stream(), Stream()
    out.send(b"first\n")

    async def on_line(line: str) -> None:
        raise OSError("the sink is full")

    with pytest.raises(HandlerFailed) as raised:
        await asyncio.wait_for(pump_lines(out, err, on_line), 5)
    assert isinstance(raised.value.error, OSError) and str(raised.value.error) == "the sink is full"


async def test_a_failing_stream_cancels_the_other() -> None:
    class Broken:
        async def read(self, n: int = -1) -> bytes:
            raise ConnectionResetError("reset by peer")

    async def on_line(line: str) -> None:
        raise AssertionError("no line was expected")

    with pytest.raises(ConnectionResetError):
        await asyncio.wait_for(pump_lines(Stream(), Broken(), on_line), 5)
