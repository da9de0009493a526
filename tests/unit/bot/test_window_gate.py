"""Gate 5: inside a maintenance window, when windows are configured or declared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.steps.schedule.gate import window_gate
from bot.steps.schedule.windows import Window, parse_recurring, parse_window

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday
SATURDAY = parse_recurring("0 2 * * SAT 4h", "Asia/Shanghai")  # Fri 18:00–22:00 UTC


def test_the_gate_holds_when_no_window_is_configured_or_declared_and_says_so() -> None:
    gate = window_gate(NOW, (), ())
    assert (gate.key, gate.title, gate.passed, gate.remedy) == (
        "window",
        "Inside a maintenance window",
        True,
        None,
    )
    assert "REGCLEAN_WINDOWS" in gate.detail and "/regclean window" in gate.detail


def test_the_gate_holds_inside_a_recurring_window_and_names_it() -> None:
    gate = window_gate(datetime(2026, 11, 27, 19, 0, tzinfo=UTC), (), [SATURDAY], tz="Asia/Shanghai")
    assert gate.passed
    assert gate.detail == (
        "Inside the maintenance window 2026-11-28 02:00–06:00 CST (UTC+08:00), recurring: `0 2 * * SAT 4h`."
    )


def test_the_gate_holds_inside_a_declared_window_and_names_who_declared_it() -> None:
    declared = parse_window("2026-11-27T11:00Z", "2h", NOW, declared_by="UALICE")
    gate = window_gate(NOW, [declared], [SATURDAY])
    assert gate.passed and "declared by UALICE" in gate.detail, "the terminal shows the ID, as before"
    assert gate.said is not None and gate.said.people == ("UALICE",), "Slack names the person"
    assert gate.said.times == (declared.start, declared.end), "Slack shows the times"


def test_the_gate_fails_outside_every_window_and_names_the_next_one() -> None:
    gate = window_gate(NOW, (), [SATURDAY], tz="Europe/Berlin")
    assert not gate.passed
    assert gate.detail == (
        "2026-11-27 13:00 CET (UTC+01:00) is outside every maintenance window; "
        "the next is 2026-11-27 19:00–23:00 CET (UTC+01:00), recurring: `0 2 * * SAT 4h`."
    )
    assert gate.said is not None and gate.said.render(str) == (
        "2026-11-27 12:00 UTC is outside every maintenance window; "
        "the next is 2026-11-27 18:00 UTC to 2026-11-27 22:00 UTC, recurring: `0 2 * * SAT 4h`."
    ), "for Slack, the times are placeholders"
    assert gate.remedy is not None and "Wait for the next window, or declare one" in gate.remedy
    assert "`/regclean window 2026-11-27T14:00+01:00 4h`" in gate.remedy


def test_the_gate_fails_after_a_declared_window_ended_and_asks_for_a_new_one() -> None:
    ended = Window(NOW - timedelta(hours=5), NOW - timedelta(hours=1), "declared", "UALICE")
    gate = window_gate(NOW, [ended], ())
    assert not gate.passed
    assert gate.remedy == "No window is coming up. Declare one, e.g. `/regclean window 2026-11-27T13:00Z 4h`."


def test_the_gate_shuts_at_the_windows_end() -> None:
    end = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)
    assert window_gate(end - timedelta(microseconds=1), (), [SATURDAY]).passed
    assert not window_gate(end, (), [SATURDAY]).passed
