"""Slack's markup in a message's text as a reader in UTC sees it (docs.slack.dev, "Formatting text
for app surfaces"): a user mention `<@U…>` as `@name`, a user group `<!subteam^S…|@handle>` as
`@handle`, and a date `<!date^ts^format|fallback>` formatted as Slack formats it. Links and the
special mentions (`<!channel>`, `<!here>`) stay as they are, so that the transcript shows them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

_TOKEN = re.compile(r"<(@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+|!date\^[^<>|]*)(?:\|([^<>]*))?>")
_FIELD = re.compile(r"\{(\w+)\}")


def render_markup(
    text: str, user_name: Callable[[str], str], now: datetime, group_handle: Callable[[str], str | None]
) -> str:
    """`text` with its mentions and dates as Slack shows them to a reader in UTC on `now`."""

    def one(found: re.Match[str]) -> str:
        body, label = found.group(1), found.group(2)
        if body.startswith("@"):
            return f"@{user_name(body[1:])}"
        if body.startswith("!subteam^"):
            handle = group_handle(body.removeprefix("!subteam^"))
            return f"@{handle}" if handle else (label or found.group(0))
        return slack_date(body, label, now)

    return _TOKEN.sub(one, text)


def slack_date(body: str, fallback: str | None, now: datetime) -> str:
    """`!date^ts^format[^link]` formatted for a reader in UTC; the fallback when it does not parse."""
    parts = body.split("^")
    try:
        moment = datetime.fromtimestamp(int(parts[1]), UTC)
        template = parts[2]
    except (IndexError, ValueError, OverflowError, OSError):
        return fallback or ""
    return _FIELD.sub(lambda m: _field(m.group(1), moment, now) or m.group(0), template)


def _field(name: str, moment: datetime, now: datetime) -> str | None:
    day = moment.date()
    pretty = _relative(day, now.astimezone(UTC).date())
    formats: dict[str, Callable[[], str]] = {
        "date_num": lambda: f"{day:%Y-%m-%d}",
        "date_slash": lambda: f"{day:%d/%m/%Y}",
        "date": lambda: f"{day:%B} {_ordinal(day.day)}, {day.year}",
        "date_short": lambda: f"{day:%b} {day.day}, {day.year}",
        "date_long": lambda: f"{day:%A}, {day:%B} {_ordinal(day.day)}, {day.year}",
        "date_long_full": lambda: f"{day:%B} {day.day}, {day.year}",
        "date_pretty": lambda: pretty or _field_or("date", moment, now),
        "date_short_pretty": lambda: pretty or _field_or("date_short", moment, now),
        "date_long_pretty": lambda: pretty or _field_or("date_long", moment, now),
        "time": lambda: f"{moment:%H:%M}",
        "time_secs": lambda: f"{moment:%H:%M:%S}",
    }
    make = formats.get(name)
    return make() if make is not None else None


def _field_or(name: str, moment: datetime, now: datetime) -> str:
    return _field(name, moment, now) or ""


def _relative(day: date, today: date) -> str | None:
    return {
        today - timedelta(days=1): "Yesterday",
        today: "Today",
        today + timedelta(days=1): "Tomorrow",
    }.get(day)


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
