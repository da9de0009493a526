"""Maintenance windows: declared (`/regclean window START DURATION`) and recurring (`REGCLEAN_WINDOWS`).

Every time here is an aware UTC datetime, and a window holds its start but not its end. Windows
that touch or overlap count as one, so a restore is warned only about the end that really comes.
A recurring window is a 5-field cron in `REGCLEAN_WINDOWS_TIMEZONE`, read by APScheduler as the
scheduler reads its jobs, plus a length of elapsed time (a window over a DST change keeps its hours).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

from apscheduler.triggers.cron import CronTrigger

from bot.core.durations import format_duration, parse_duration
from bot.core.errors import WindowError
from bot.core.model import Said
from bot.core.timefmt import format_span, format_time, iso_minutes, known_zone, zone

MAX_WINDOW = timedelta(hours=24)
"""The longest window: a typo (`4d` for `4h`) must not open the gate for days. Declare several instead."""
RECURRING_FORMAT = "MINUTE HOUR DAY MONTH WEEKDAY DURATION, e.g. `0 2 * * SAT 4h`"
_TICK = timedelta(microseconds=1)
_MAX_JOINS = 32  # touching windows joined into one; more than this is a configuration mistake
_MAX_STARTS = 1500  # an every-minute cron across the longest window


@dataclass(frozen=True)
class Window:
    """A stretch of time in which the purge may run, from `start` (held) to `end` (not held)."""

    start: datetime
    """Aware; kept in UTC."""
    end: datetime
    """Aware; kept in UTC. Later than `start`."""
    source: Literal["declared", "recurring"] = "declared"
    """Declared by a person, or an occurrence of a configured recurring window."""
    declared_by: str | None = None
    """The Slack user ID of who declared it."""
    id: int | None = None
    """The store's ID of a declared window."""
    rule: str | None = None
    """The configured entry of a recurring window, e.g. `0 2 * * SAT 4h`."""

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a window's start and end must be aware datetimes")
        object.__setattr__(self, "start", self.start.astimezone(UTC))
        object.__setattr__(self, "end", self.end.astimezone(UTC))
        if self.end <= self.start:
            raise ValueError("a window must end after it starts")

    def contains(self, moment: datetime) -> bool:
        """Whether `moment` is in the window: the start is, the end is not."""
        return self.start <= moment < self.end

    def describe(self, tz: str | None = None) -> str:
        """`2026-12-01 02:00–06:00 CST (UTC+08:00), declared by U1` or `…, recurring: 0 2 * * SAT 4h`
        (for the terminal; Slack renders `said`)."""
        if self.source == "recurring":
            origin = f"recurring: `{self.rule}`" if self.rule else "recurring"
        else:
            origin = f"declared by {self.declared_by}" if self.declared_by else "declared"
        return f"{format_span(self.start, self.end, tz)}, {origin}"

    def said(self) -> Said:
        """`describe` for Slack: its start, end and who declared it as placeholders."""
        times = (self.start, self.end)
        if self.source == "recurring":
            rule = (self.rule or "").replace("{", "{{").replace("}", "}}")
            return Said(
                f"{{0}} to {{1}}, recurring: `{rule}`" if rule else "{0} to {1}, recurring", (), times
            )
        if self.declared_by:
            return Said("{1} to {2}, declared by {0}", (self.declared_by,), times)
        return Said("{0} to {1}, declared", (), times)


@dataclass(frozen=True)
class RecurringWindow:
    """A window that comes back: a crontab in a time zone (weekdays by name) and a length."""

    rule: str
    """The entry as configured, e.g. `0 2 * * SAT 4h`."""
    length: timedelta
    """How long each occurrence lasts (elapsed time)."""
    timezone: str
    """The IANA zone the cron is read in."""
    trigger: CronTrigger = field(repr=False, compare=False)

    def start_after(self, moment: datetime) -> datetime | None:
        """The first start strictly after `moment`, in UTC, or None if the cron never fires again."""
        fire = self.trigger.get_next_fire_time(None, moment + _TICK)
        if fire is None:
            return None
        fire = fire.astimezone(UTC)  # wall-clock arithmetic on a local time goes wrong across DST
        return fire if fire > moment else None

    def latest_start(self, after: datetime, until: datetime) -> datetime | None:
        """The last start in (`after`, `until`], or None."""
        latest, start = None, self.start_after(after)
        for _ in range(_MAX_STARTS):
            if start is None or start > until:
                break
            latest, start = start, self.start_after(start)
        return latest

    def occurrence(self, start: datetime) -> Window:
        """The window that starts at `start`."""
        return Window(start, start + self.length, "recurring", rule=self.rule)


def _length(text: str) -> timedelta:
    try:
        length = parse_duration(text)
    except ValueError as exc:
        raise WindowError(f"{exc}.") from None
    if length <= timedelta(0):
        raise WindowError(f"A window must last longer than '{text}'; write it like 4h or 90m.")
    if length > MAX_WINDOW:
        raise WindowError(
            f"A window may last at most {format_duration(MAX_WINDOW)}, not {format_duration(length)}; "
            "declare several windows for a longer maintenance."
        )
    return length


def _instant(text: str, tz: str | None) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise WindowError(
            f"'{text}' is not a start time. Write it in ISO 8601 with a UTC offset, "
            "e.g. `2026-12-01T02:00+08:00`, or `2026-12-01T02:00Z` for UTC."
        ) from None
    if moment.utcoffset() is None:
        wall = f"{moment:%Y-%m-%dT%H:%M}"
        theirs = known_zone(tz) if tz else None
        if theirs is not None:
            example = f"`{iso_minutes(moment.replace(tzinfo=theirs), tz)}` for {tz} time"
        else:
            example = f"`{wall}+08:00` for UTC+8"
        raise WindowError(
            f"'{text}' has no UTC offset, so it could be any time zone's {wall[-5:]}. "
            f"Add one, e.g. {example}, or `{wall}Z` for UTC."
        )
    return moment.astimezone(UTC)


def parse_window(
    start: str, duration: str, now: datetime, *, declared_by: str | None = None, tz: str | None = None
) -> Window:
    """The window of `/regclean window START DURATION`; `tz` (the person's zone) only shapes examples."""
    begins = _instant(start, tz)
    window = Window(begins, begins + _length(duration), "declared", declared_by)
    if window.end <= now:
        raise WindowError(
            f"That window ended at {format_time(window.end, tz)}. Give a start in the future, "
            f"e.g. `/regclean window {iso_minutes(_next_hour(now, tz), tz)} {duration}`."
        )
    return window


def parse_recurring(rule: str, timezone: str = "UTC") -> RecurringWindow:
    """One `REGCLEAN_WINDOWS` entry: a 5-field crontab (weekdays by name) and a length, in `timezone`."""
    fields = rule.split()
    if len(fields) != 6:
        raise WindowError(f"'{rule}' is not a recurring window; write {RECURRING_FORMAT}.")
    cron, weekday = " ".join(fields[:5]), fields[4]
    if any(char.isdigit() for char in weekday):
        raise WindowError(
            f"'{rule}': write the weekday by name (SAT, MON-FRI, SAT,SUN), not as a number: "
            "crontab counts 0 as Sunday but the scheduler counts 0 as Monday."
        )
    zone = known_zone(timezone)
    if zone is None:
        raise WindowError(f"'{timezone}' is not an IANA time zone like Europe/Berlin or Asia/Shanghai.")
    try:
        trigger = CronTrigger.from_crontab(cron, timezone=zone)
    except ValueError as exc:
        raise WindowError(f"'{rule}' is not a recurring window ({exc}); write {RECURRING_FORMAT}.") from None
    try:
        length = _length(fields[5])
    except WindowError as exc:
        raise WindowError(f"'{rule}': {exc}") from None
    return RecurringWindow(" ".join(fields), length, timezone, trigger)


def split_rules(text: str) -> tuple[str, ...]:
    """`REGCLEAN_WINDOWS` as its entries: they are separated by `;` (a cron field may hold commas)."""
    return tuple(entry.strip() for entry in text.split(";") if entry.strip())


def recurring_windows(rules: Sequence[str], timezone: str = "UTC") -> tuple[RecurringWindow, ...]:
    """Every configured entry, parsed; the settings have checked them already."""
    return tuple(parse_recurring(rule, timezone) for rule in rules)


def _holding(
    moment: datetime, declared: Sequence[Window], recurring: Sequence[RecurringWindow]
) -> list[Window]:
    """The windows that hold `moment` (of a recurring one, its first and its last occurrence)."""
    found = [w for w in declared if w.contains(moment)]
    for rule in recurring:
        since = moment - rule.length
        starts = {rule.start_after(since), rule.latest_start(since, moment)}
        found += [rule.occurrence(s) for s in starts if s is not None and s <= moment]
    return found


def _joined(
    window: Window, declared: Sequence[Window], recurring: Sequence[RecurringWindow], *, back: bool
) -> Window:
    """`window`, stretched over every window that holds its end (or, with `back`, the instant before its start)."""
    for _ in range(_MAX_JOINS):
        start, end = window.start, window.end
        later = _holding(end, declared, recurring)
        end = max([end, *(w.end for w in later)])
        if back:
            start = min([start, *(w.start for w in _holding(start - _TICK, declared, recurring))])
        if (start, end) == (window.start, window.end):
            break
        window = replace(window, start=start, end=end)
    return window


def window_at(
    now: datetime, declared: Sequence[Window] = (), recurring: Sequence[RecurringWindow] = ()
) -> Window | None:
    """The window `now` is in, joined with the windows it touches or overlaps, or None."""
    found = max(_holding(now, declared, recurring), key=lambda w: w.end, default=None)
    return None if found is None else _joined(found, declared, recurring, back=True)


def next_window(
    now: datetime, declared: Sequence[Window] = (), recurring: Sequence[RecurringWindow] = ()
) -> Window | None:
    """The first window that starts after `now`, joined with the later windows it touches, or None."""
    coming = [w for w in declared if w.start > now]
    for rule in recurring:
        start = rule.start_after(now)
        if start is not None:
            coming.append(rule.occurrence(start))
    first = min(coming, key=lambda w: w.start, default=None)
    return None if first is None else _joined(first, declared, recurring, back=False)


def finish_past(window: Window, now: datetime, expected: timedelta) -> datetime | None:
    """When work that takes `expected`, started now (or at the window's start), would finish, if
    that is past the window's end; None when it fits."""
    finish = max(now, window.start) + expected
    return finish if finish > window.end else None


def outlasts(window: Window, now: datetime, expected: timedelta, tz: str | None = None) -> str | None:
    """A warning when work that takes `expected`, started now (or at the window's start), runs past its
    end, with times in `tz` (for the terminal)."""
    said = outlast_said(window, now, expected)
    return None if said is None else said.render(str, time=lambda t: format_time(t, tz))


def outlast_said(window: Window, now: datetime, expected: timedelta) -> Said | None:
    """`outlasts` for Slack, which renders its times."""
    finish = finish_past(window, now, expected)
    if finish is None:
        return None
    return Said(
        f"This is expected to take about {format_duration(expected)}: it would finish around "
        f"{{0}}, {format_duration(finish - window.end)} after the maintenance window ends ({{1}}).",
        times=(finish, window.end),
    )


def _next_hour(now: datetime, tz: str | None) -> datetime:
    local = now.astimezone(zone(tz))
    return local.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)


def declare_example(now: datetime, tz: str | None = None) -> str:
    """A `/regclean window` command a person could send: the next full hour, 4h, in their zone."""
    return f"/regclean window {iso_minutes(_next_hour(now, tz), tz)} 4h"
