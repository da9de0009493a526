"""Cooperative CPU work on the event loop.

A large inventory means tens of thousands of rows to convert, store, compare and render. Done
in a worker thread, that Python work competes with the event loop for the GIL, and every
Slack acknowledgement waits behind it. Done on the loop in small slices, the loop stays free
between slices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import TypeVar

T = TypeVar("T")

#: items per slice; a slice of row conversions takes about a millisecond
SLICE = 256


async def in_slices(items: Iterable[T], size: int = SLICE) -> list[T]:
    """Consume an iterable (typically a generator doing the work) on the loop, yielding between slices."""
    out: list[T] = []
    for count, item in enumerate(items, start=1):
        out.append(item)
        if count % size == 0:
            await asyncio.sleep(0)
    return out
