"""Durations as people write them in settings: `30m`, `24h`, `1h30m`."""

from __future__ import annotations

import re
from datetime import timedelta

_SPAN = re.compile(r"(\d+)([dhms])")
_UNIT = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """`30m`, `24h`, `1h30m`, `45s`, `2d`, or plain seconds, as a timedelta."""
    compact = text.strip().replace(" ", "")
    if compact.isdigit():
        return timedelta(seconds=int(compact))
    if not compact or _SPAN.sub("", compact):
        raise ValueError(f"'{text}' is not a duration; write it like 30m, 24h or 1h30m")
    return timedelta(seconds=sum(int(n) * _UNIT[u] for n, u in _SPAN.findall(compact)))


def format_duration(span: timedelta) -> str:
    """The inverse of parse_duration: `1h30m`, `30m`, `45s`."""
    seconds, out = int(span.total_seconds()), ""
    for unit, size in list(_UNIT.items())[1:]:  # hours, not days: `24h` reads as the design says
        if seconds >= size or (unit == "s" and not out):
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out
