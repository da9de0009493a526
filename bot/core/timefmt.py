"""Times as a person reads them: in their Slack time zone (`users.info` → `user.tz`), with the offset.

The bot stores and compares UTC; only what it shows is local. An unknown or missing zone falls
back to UTC rather than failing, since a wrong label is better than no message.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def known_zone(name: str) -> ZoneInfo | None:
    """The IANA zone of this name (`Asia/Shanghai`), or None when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):  # OSError: a directory, like `America`
        return None


def zone(name: str | None) -> tzinfo:
    """The zone of this name, or UTC when the name is missing or unknown."""
    found = known_zone(name) if name else None
    return found if found is not None else UTC


def format_offset(offset: timedelta) -> str:
    """`UTC+08:00`, `UTC-03:30`, `UTC+00:00`."""
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _label(local: datetime) -> str:
    offset = local.utcoffset() or timedelta(0)
    name = local.tzname() or ""
    if name == "UTC" and not offset:
        return "UTC"
    if not name or name[0] in "+-":  # zones without an abbreviation name themselves `+04`
        return f"({format_offset(offset)})"
    return f"{name} ({format_offset(offset)})"


def _local(moment: datetime, tz: str | None) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("only aware datetimes can be shown in a time zone")
    return moment.astimezone(zone(tz))


def format_time(moment: datetime, tz: str | None = None) -> str:
    """`2026-12-01 02:00 CST (UTC+08:00)`; in UTC: `2026-11-30 18:00 UTC`."""
    local = _local(moment, tz)
    return f"{local:%Y-%m-%d %H:%M} {_label(local)}"


def format_span(start: datetime, end: datetime, tz: str | None = None) -> str:
    """`2026-12-01 02:00–06:00 CST (UTC+08:00)`, or both ends in full when the date or offset differs."""
    first, last = _local(start, tz), _local(end, tz)
    if first.date() == last.date() and _label(first) == _label(last):
        return f"{first:%Y-%m-%d %H:%M}–{last:%H:%M} {_label(last)}"
    return f"{format_time(start, tz)} – {format_time(end, tz)}"


def iso_minutes(moment: datetime, tz: str | None = None) -> str:
    """ISO 8601 to the minute in this zone, as a person would type it: `2026-12-01T02:00+08:00`, `…Z`."""
    text = _local(moment, tz).isoformat(timespec="minutes")
    return text[: -len("+00:00")] + "Z" if text.endswith("+00:00") else text
