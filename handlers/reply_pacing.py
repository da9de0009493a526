"""Private replies paced per person: the same answer is not repeated to someone who keeps asking.

A person who types `/regclean inventory` a thousand times while the inventory runs needs to be
told once that it started and once that it is already running, not a thousand times each. Every
private reply (a command's acknowledgement, an ephemeral refusal) passes `RepliesPerUser.admit`
with a key naming what it says; the same key for the same person within `window` seconds is
held back and counted, and the next one that goes out says how many were held back. Different
answers are never held back: a refusal that says something new always arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW = 10.0
"""Seconds during which the same private reply to the same person is sent only once."""
MAX_TRACKED = 10_000
"""Replies remembered at most; older ones are forgotten first (memory stays bounded under a flood)."""


@dataclass
class _Sent:
    at: float
    held_back: int = 0


class RepliesPerUser:
    """Which private replies to send, per person and per answer."""

    def __init__(self, window: float = WINDOW, clock: Callable[[], float] = time.monotonic) -> None:
        self._window = window
        self._clock = clock
        self._sent: dict[tuple[str, str], _Sent] = {}

    def admit(self, user: str, key: str) -> int | None:
        """None when `user` was given the answer `key` less than `window` s ago (it is counted, not
        sent); otherwise how many of the same answers were held back since it was last sent."""
        now = self._clock()
        sent = self._sent.get((user, key))
        if sent is not None and now - sent.at < self._window:
            sent.held_back += 1
            return None
        held_back = sent.held_back if sent is not None else 0
        self._sent.pop((user, key), None)
        self._sent[(user, key)] = _Sent(now)
        self._forget(now)
        return held_back

    def __len__(self) -> int:
        """How many replies are remembered."""
        return len(self._sent)

    def _forget(self, now: float) -> None:
        while len(self._sent) > MAX_TRACKED:
            del self._sent[next(iter(self._sent))]  # the oldest first: dicts keep the order of sending
        done = []
        for key, sent in self._sent.items():
            if now - sent.at < self._window:
                break  # the rest were sent later
            if sent.held_back == 0:
                done.append(key)  # nothing left to report for it
        for key in done:
            del self._sent[key]


def held_back_note(count: int) -> str:
    """The sentence added to a reply that was held back `count` times."""
    if count <= 0:
        return ""
    times = "time" if count == 1 else "times"
    return f" (You asked {count:,} more {times} while this answer stood; it is shown once.)"
