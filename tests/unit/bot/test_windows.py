"""Maintenance windows: declaring one, recurring ones from config, the window now, the next one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.core.errors import RunbookError, WindowError
from bot.steps.schedule.windows import (
    RecurringWindow,
    Window,
    declare_example,
    next_window,
    outlasts,
    parse_recurring,
    parse_window,
    recurring_windows,
    split_rules,
    window_at,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday
H = timedelta(hours=1)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def declared(start: datetime, hours: float) -> Window:
    return Window(start, start + timedelta(hours=hours), "declared", "UALICE")


# -- declaring a window ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["2026-12-01T02:00+08:00", "2026-11-30T18:00Z", "2026-12-01T02:00+0800", "2026-11-30 13:00-05:00"]
)
def test_a_start_with_an_offset_is_kept_in_utc(text: str) -> None:
    window = parse_window(text, "4h", NOW, declared_by="UALICE")
    assert (window.start, window.end) == (utc(2026, 11, 30, 18), utc(2026, 11, 30, 22))
    assert window.start.tzinfo is UTC
    assert (window.source, window.declared_by) == ("declared", "UALICE")


def test_a_start_without_an_offset_is_refused_with_an_example() -> None:
    with pytest.raises(WindowError) as err:
        parse_window("2026-12-01T02:00", "4h", NOW)
    message = str(err.value)
    assert "no UTC offset" in message
    assert "`2026-12-01T02:00+08:00`" in message and "`2026-12-01T02:00Z`" in message


def test_the_offset_example_uses_the_persons_own_zone_when_known() -> None:
    with pytest.raises(WindowError) as err:
        parse_window("2026-12-01 02:00", "4h", NOW, tz="Europe/Berlin")
    assert "`2026-12-01T02:00+01:00` for Europe/Berlin time" in str(err.value)


def test_a_window_error_is_a_refusal_the_engine_shows_to_the_person() -> None:
    assert issubclass(WindowError, RunbookError)


@pytest.mark.parametrize("text", ["tomorrow", "2026-13-01T02:00Z", "02:00+08:00", ""])
def test_an_unreadable_start_is_refused_with_the_format(text: str) -> None:
    with pytest.raises(WindowError, match=r"ISO 8601 with a UTC offset, e\.g\. `2026-12-01T02:00\+08:00`"):
        parse_window(text, "4h", NOW)


@pytest.mark.parametrize(
    ("text", "length"), [("4h", 4 * H), ("90m", 1.5 * H), ("1h30m", 1.5 * H), ("24h", 24 * H)]
)
def test_durations_are_written_as_in_the_settings(text: str, length: timedelta) -> None:
    window = parse_window("2026-12-01T02:00+08:00", text, NOW)
    assert window.end - window.start == length


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0", "longer than '0'"),
        ("0m", "longer than '0m'"),
        ("-4h", "not a duration"),
        ("4 hours", "not a duration"),
        ("24h1s", "at most 24h, not 24h1s"),
        ("2d", "at most 24h, not 48h"),
    ],
)
def test_a_zero_negative_or_too_long_duration_is_refused(text: str, problem: str) -> None:
    with pytest.raises(WindowError, match=problem):
        parse_window("2026-12-01T02:00+08:00", text, NOW)


def test_a_window_that_already_ended_is_refused() -> None:
    with pytest.raises(WindowError, match=r"ended at 2026-11-27 11:00 UTC\. Give a start in the future"):
        parse_window("2026-11-27T07:00Z", "4h", NOW)
    with pytest.raises(WindowError, match="ended"):  # the end itself is no longer in the window
        parse_window("2026-11-27T08:00Z", "4h", NOW)


def test_a_window_that_already_started_but_has_not_ended_is_accepted() -> None:
    window = parse_window("2026-11-27T10:00Z", "4h", NOW)
    assert window.contains(NOW)


def test_a_window_needs_aware_times_and_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="aware"):
        Window(datetime(2026, 12, 1), datetime(2026, 12, 2))
    with pytest.raises(ValueError, match="end after"):
        Window(NOW, NOW)


# -- recurring windows from REGCLEAN_WINDOWS ------------------------------------------------


def test_recurring_entries_are_split_on_semicolons_since_cron_fields_hold_commas() -> None:
    rules = split_rules(" 0 2 * * SAT 4h;0 22 * * WED,FRI 2h ; ")
    assert rules == ("0 2 * * SAT 4h", "0 22 * * WED,FRI 2h")
    parsed = recurring_windows(rules, "Asia/Shanghai")
    assert [(r.rule, r.length, r.timezone) for r in parsed] == [
        ("0 2 * * SAT 4h", 4 * H, "Asia/Shanghai"),
        ("0 22 * * WED,FRI 2h", 2 * H, "Asia/Shanghai"),
    ]


def test_a_recurring_window_is_read_in_its_time_zone() -> None:
    saturday_2am_shanghai = parse_recurring("0 2 * * sat 4h", "Asia/Shanghai")
    assert saturday_2am_shanghai.start_after(NOW) == utc(2026, 11, 27, 18)  # Sat 02:00 at +08:00


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("0 2 * * SAT", "MINUTE HOUR DAY MONTH WEEKDAY DURATION"),
        ("0 2 * SAT 4h", "MINUTE HOUR DAY MONTH WEEKDAY DURATION"),
        ("0 25 * * SAT 4h", r"higher than the maximum value \(23\)"),
        ("0 2 * * SUT 4h", "Invalid weekday name"),
        ("0 2 * * 6 4h", "weekday by name"),
        ("0 2 * * */2 4h", "weekday by name"),
        ("0 2 * * SAT 0h", "longer than"),
        ("0 2 * * SAT 25h", "at most 24h"),
        ("0 2 * * SAT soon", "not a duration"),
    ],
)
def test_a_malformed_recurring_window_is_refused_with_what_is_wrong(rule: str, problem: str) -> None:
    with pytest.raises(WindowError, match=problem) as err:
        parse_recurring(rule)
    assert rule in str(err.value)


def test_a_recurring_window_in_an_unknown_zone_is_refused() -> None:
    with pytest.raises(WindowError, match="'Europe/Berln' is not an IANA time zone"):
        parse_recurring("0 2 * * SAT 4h", "Europe/Berln")


def test_a_recurring_window_keeps_its_local_hour_across_the_spring_dst_change() -> None:
    sunday_1am = parse_recurring("0 1 * * SUN 4h", "Europe/Berlin")
    assert sunday_1am.start_after(utc(2026, 3, 21)) == utc(2026, 3, 22, 0)  # 01:00 CET
    assert sunday_1am.start_after(utc(2026, 3, 22, 1)) == utc(2026, 3, 29, 0)  # 01:00 CET, the change day
    assert sunday_1am.start_after(utc(2026, 3, 29, 1)) == utc(2026, 4, 4, 23)  # 01:00 CEST
    # the length is elapsed time: the window over the change ends 4 h later, at 06:00 CEST
    during = window_at(utc(2026, 3, 29, 3, 59), (), [sunday_1am])
    assert during is not None and (during.start, during.end) == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 4))
    assert window_at(utc(2026, 3, 29, 4), (), [sunday_1am]) is None


def test_a_recurring_start_in_the_skipped_hour_falls_after_the_clocks_go_forward() -> None:
    sunday_0230 = parse_recurring("30 2 * * SUN 1h", "Europe/Berlin")  # 02:30 does not exist on 29 March
    assert sunday_0230.start_after(utc(2026, 3, 28)) == utc(2026, 3, 29, 1, 30)  # 03:30 CEST


def test_a_recurring_start_in_the_repeated_autumn_hour_joins_both_occurrences() -> None:
    sunday_0230 = parse_recurring("30 2 * * SUN 2h", "Europe/Berlin")  # 02:30 happens twice on 25 October
    window = window_at(utc(2026, 10, 25, 2), (), [sunday_0230])
    assert window is not None
    assert (window.start, window.end) == (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 3, 30))
    assert sunday_0230.start_after(utc(2026, 10, 25, 1, 30)) == utc(2026, 11, 1, 1, 30)


def test_a_cron_that_never_fires_has_no_window() -> None:
    february_30 = parse_recurring("0 2 30 FEB * 4h")
    assert next_window(NOW, (), [february_30]) is None
    assert window_at(NOW, (), [february_30]) is None


# -- the window now and the next one --------------------------------------------------------

SATURDAY = parse_recurring("0 2 * * SAT 4h")  # UTC: 2026-11-28 02:00–06:00


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (utc(2026, 11, 28, 1, 59, 59), False),
        (utc(2026, 11, 28, 2), True),  # the start is in the window
        (utc(2026, 11, 28, 5, 59, 59), True),
        (utc(2026, 11, 28, 6), False),  # the end is not
    ],
)
def test_a_window_holds_its_start_but_not_its_end(moment: datetime, inside: bool) -> None:
    one = declared(utc(2026, 11, 28, 2), 4)
    assert (window_at(moment, [one], ()) == one) is inside
    recurring = window_at(moment, (), [SATURDAY])
    assert (recurring is not None) is inside
    if recurring is not None:
        assert (recurring.start, recurring.end, recurring.source) == (
            utc(2026, 11, 28, 2),
            utc(2026, 11, 28, 6),
            "recurring",
        )
        assert recurring.rule == "0 2 * * SAT 4h"


def test_no_window_at_all_means_no_window_now_and_none_coming() -> None:
    assert window_at(NOW) is None
    assert next_window(NOW) is None


def test_touching_or_overlapping_windows_count_as_one() -> None:
    evening = declared(utc(2026, 11, 28, 0), 2)  # 00:00–02:00, then the Saturday window 02:00–06:00
    overlapping = declared(utc(2026, 11, 28, 5), 3)  # 05:00–08:00
    window = window_at(utc(2026, 11, 28, 1), [evening, overlapping], [SATURDAY])
    assert window is not None
    assert (window.start, window.end, window.declared_by) == (
        utc(2026, 11, 28, 0),
        utc(2026, 11, 28, 8),
        "UALICE",
    )


def test_a_gap_between_windows_is_not_bridged() -> None:
    early = declared(utc(2026, 11, 28, 0), 1)  # 00:00–01:00, an hour before the Saturday window
    window = window_at(utc(2026, 11, 28, 0, 30), [early], [SATURDAY])
    assert window is not None and window.end == utc(2026, 11, 28, 1)


def test_the_next_window_is_the_first_to_start_after_now_whichever_its_source() -> None:
    tonight = declared(utc(2026, 11, 27, 22), 2)
    assert next_window(NOW, [tonight], [SATURDAY]) == tonight
    later = declared(utc(2026, 11, 29, 2), 2)
    upcoming = next_window(NOW, [later], [SATURDAY])
    assert upcoming is not None and (upcoming.start, upcoming.source) == (utc(2026, 11, 28, 2), "recurring")


def test_the_next_window_starts_after_now_even_when_now_is_a_start() -> None:
    upcoming = next_window(utc(2026, 11, 28, 2), (), [SATURDAY])
    assert upcoming is not None and upcoming.start == utc(2026, 12, 5, 2)
    ended = declared(utc(2026, 11, 27, 8), 2)
    assert next_window(NOW, [ended], ()) is None


# -- a restore that would outlast the window ------------------------------------------------


def test_work_that_fits_in_the_window_gets_no_warning() -> None:
    window = declared(utc(2026, 11, 27, 10), 4)  # until 14:00
    assert outlasts(window, NOW, 2 * H) is None  # finishes exactly at the end


def test_work_that_would_outlast_the_window_is_warned_about_with_times() -> None:
    window = declared(utc(2026, 11, 27, 10), 4)
    warning = outlasts(window, NOW, timedelta(hours=3, minutes=30), tz="Asia/Shanghai")
    assert warning is not None
    assert "about 3h30m" in warning
    assert "2026-11-27 23:30 CST (UTC+08:00)" in warning  # the finish, in the person's zone
    assert "1h30m after the maintenance window ends (2026-11-27 22:00 CST (UTC+08:00))" in warning


def test_work_scheduled_for_a_later_window_is_measured_from_its_start() -> None:
    window = declared(utc(2026, 11, 28, 2), 4)
    assert outlasts(window, NOW, 4 * H) is None
    assert outlasts(window, NOW, 5 * H) is not None


def test_the_declare_example_is_a_command_that_parses() -> None:
    example = declare_example(NOW, "Asia/Kolkata")
    assert example == "/regclean window 2026-11-27T18:00+05:30 4h"
    _, _, start, length = example.split()
    assert parse_window(start, length, NOW).start == utc(2026, 11, 27, 12, 30)


def test_recurring_windows_compare_by_their_rule() -> None:
    assert parse_recurring("0 2 * * SAT 4h") == parse_recurring("0  2 * * SAT  4h")
    assert isinstance(SATURDAY, RecurringWindow)
