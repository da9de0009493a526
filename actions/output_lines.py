"""Splitting a command's output streams into lines, in bounded memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

TAIL_LINES = 20
MAX_LINE = 1 << 20
"""A longer run of bytes without a newline is handed on as a line of its own, to bound memory."""

LineSink = Callable[[int, str], None]
"""(channel 1 stdout | 2 stderr, line without its newline); called in a worker thread, must be cheap."""
Cut = Callable[[bytes], int]
"""Where an overlong line may be cut (`Masker.cut`: never inside a secret); the rest waits for more."""


class LineSplitter:
    """Splits output channels into lines, keeping only each channel's partial last line and the tail."""

    def __init__(self, sink: LineSink, channels: tuple[int, ...] = (1, 2), cut: Cut | None = None) -> None:
        self._sink = sink
        self._cut = cut
        self._partial = dict.fromkeys(channels, b"")
        self.counts = dict.fromkeys(channels, 0)
        """Lines handed on, per channel."""
        self.tail: deque[str] = deque(maxlen=TAIL_LINES)
        """The last lines of all channels, interleaved as received."""

    def feed(self, channel: int, data: bytes) -> None:
        """Take a chunk of one channel; hand on every line it completes."""
        block = self._partial[channel] + data
        end = block.rfind(b"\n")
        if end < 0:
            rest = block
        else:
            rest = block[end + 1 :]
            # No UTF-8 sequence contains a newline byte: decoding whole lines at once is decoding each.
            self._emit(channel, block[:end])
        if len(rest) > MAX_LINE:
            at = len(rest) if self._cut is None else self._cut(rest)
            self._emit(channel, rest[:at])
            rest = rest[at:]
        self._partial[channel] = rest

    def flush(self) -> None:
        """Hand on the last line of each channel when it had no newline."""
        for channel, rest in self._partial.items():
            if rest:
                self._partial[channel] = b""
                self._emit(channel, rest)

    def _emit(self, channel: int, block: bytes) -> None:
        lines = block.decode("utf-8", "replace").split("\n")
        if b"\r" in block:
            lines = [line.removesuffix("\r") for line in lines]
        self.counts[channel] += len(lines)
        self.tail.extend(lines[-TAIL_LINES:])
        sink = self._sink
        for line in lines:
            sink(channel, line)
