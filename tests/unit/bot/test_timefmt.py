"""Times shown in each person's Slack time zone, with the offset; unknown zones fall back to UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from bot.core.timefmt import format_offset, format_span, format_time, iso_minutes, known_zone, zone

WINTER = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)  # 2026-12-01 02:00 in Shanghai
SUMMER = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "tz", "shown"),
    [
        (WINTER, "Asia/Shanghai", "2026-12-01 02:00 CST (UTC+08:00)"),
        (WINTER, "Europe/Berlin", "2026-11-30 19:00 CET (UTC+01:00)"),
        (SUMMER, "Europe/Berlin", "2026-07-01 14:00 CEST (UTC+02:00)"),
        (WINTER, "America/New_York", "2026-11-30 13:00 EST (UTC-05:00)"),
        (SUMMER, "America/New_York", "2026-07-01 08:00 EDT (UTC-04:00)"),
        (WINTER, "Asia/Kolkata", "2026-11-30 23:30 IST (UTC+05:30)"),
        (WINTER, "America/St_Johns", "2026-11-30 14:30 NST (UTC-03:30)"),
        (WINTER, "Asia/Dubai", "2026-11-30 22:00 (UTC+04:00)"),  # the zone's abbreviation is just `+04`
        (WINTER, "Europe/London", "2026-11-30 18:00 GMT (UTC+00:00)"),
        (WINTER, "UTC", "2026-11-30 18:00 UTC"),
    ],
)
def test_a_time_is_shown_in_the_persons_zone_with_its_abbreviation_and_offset(
    moment: datetime, tz: str, shown: str
) -> None:
    assert format_time(moment, tz) == shown


@pytest.mark.parametrize("tz", [None, "", "Mars/Olympus_Mons", "America", "../etc/passwd", "/etc/localtime"])
def test_a_missing_or_unknown_zone_falls_back_to_utc(tz: str | None) -> None:
    assert format_time(WINTER, tz) == "2026-11-30 18:00 UTC"
    assert zone(tz) is UTC


def test_any_aware_time_is_converted_before_it_is_shown() -> None:
    shanghai_wall = datetime(2026, 12, 1, 2, 0, tzinfo=timezone(timedelta(hours=8)))
    assert format_time(shanghai_wall) == "2026-11-30 18:00 UTC"
    assert format_time(shanghai_wall, "America/New_York") == "2026-11-30 13:00 EST (UTC-05:00)"


def test_a_naive_time_is_refused_rather_than_guessed() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_time(datetime(2026, 12, 1, 2, 0), "Asia/Shanghai")


def test_known_zone_tells_real_zones_from_unknown_names() -> None:
    assert str(known_zone("Europe/Berlin")) == "Europe/Berlin"
    assert known_zone("Europe/Berln") is None
    assert known_zone("utc") is None  # names are case-sensitive, as Slack sends them


@pytest.mark.parametrize(
    ("offset", "shown"),
    [
        (timedelta(hours=8), "UTC+08:00"),
        (timedelta(hours=-3, minutes=-30), "UTC-03:30"),
        (timedelta(0), "UTC+00:00"),
    ],
)
def test_offsets_are_written_as_signed_hours_and_minutes(offset: timedelta, shown: str) -> None:
    assert format_offset(offset) == shown


def test_a_span_within_one_day_names_the_date_once() -> None:
    assert (
        format_span(WINTER, WINTER + timedelta(hours=4), "Asia/Shanghai")
        == "2026-12-01 02:00–06:00 CST (UTC+08:00)"
    )
    assert format_span(WINTER, WINTER + timedelta(hours=4)) == "2026-11-30 18:00–22:00 UTC"


def test_a_span_across_midnight_in_the_persons_zone_shows_both_dates() -> None:
    start = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # 21:00 in Berlin, 04:00 the next day in Shanghai
    assert format_span(start, start + timedelta(hours=4), "Europe/Berlin") == (
        "2026-11-30 21:00 CET (UTC+01:00) – 2026-12-01 01:00 CET (UTC+01:00)"
    )
    assert format_span(start, start + timedelta(hours=2), "Asia/Shanghai") == (
        "2026-12-01 04:00–06:00 CST (UTC+08:00)"
    )


def test_a_span_across_a_dst_change_shows_each_ends_offset() -> None:
    start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)  # 01:00 CET; clocks go forward at 02:00
    assert format_span(start, start + timedelta(hours=4), "Europe/Berlin") == (
        "2026-03-29 01:00 CET (UTC+01:00) – 2026-03-29 06:00 CEST (UTC+02:00)"
    )


def test_iso_minutes_writes_what_a_person_would_type() -> None:
    assert iso_minutes(WINTER, "Asia/Shanghai") == "2026-12-01T02:00+08:00"
    assert iso_minutes(WINTER, "America/St_Johns") == "2026-11-30T14:30-03:30"
    assert iso_minutes(WINTER) == "2026-11-30T18:00Z"
    assert datetime.fromisoformat(iso_minutes(WINTER, "Asia/Shanghai")) == WINTER
