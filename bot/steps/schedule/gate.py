"""Gate 5: inside a maintenance window, when windows are configured or declared (docs/architecture.md,
"Gates and the plan")."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.core.model import Said
from bot.core.timefmt import format_time
from bot.steps.preflight.gates import Gate
from bot.steps.schedule.windows import RecurringWindow, Window, declare_example, next_window, window_at

TITLE = "Inside a maintenance window"


def window_gate(
    now: datetime,
    declared: Sequence[Window],
    recurring: Sequence[RecurringWindow],
    *,
    tz: str | None = None,
) -> Gate:
    """6. Inside a maintenance window; holds when none is configured (`REGCLEAN_WINDOWS`) or declared.

    `declared` are the windows people declared and did not cancel: one that has ended still
    means this work is done in windows, so the gate stays shut until another is declared.
    """
    if not declared and not recurring:
        return Gate(
            "window",
            TITLE,
            True,
            "No maintenance window is configured (REGCLEAN_WINDOWS) or declared (`/regclean window`).",
        )
    current = window_at(now, declared, recurring)
    if current is not None:
        inside = current.said()
        said = Said(f"Inside the maintenance window {inside.text}.", inside.people, inside.times)
        return Gate(
            "window", TITLE, True, f"Inside the maintenance window {current.describe(tz)}.", said=said
        )
    coming = next_window(now, declared, recurring)
    declare = f"`{declare_example(now, tz)}`"
    outside = "is outside every maintenance window"
    if coming is None:
        said = Said(f"{{0}} {outside}.", (), (now,))
        detail = f"{format_time(now, tz)} {outside}."
        remedy = f"No window is coming up. Declare one, e.g. {declare}."
    else:  # the next window in the detail, where Slack renders its times and who declared it
        then = coming.said()
        slot = len(then.people) + len(then.times)  # `now` comes after the window's own people and times
        said = Said(f"{{{slot}}} {outside}; the next is {then.text}.", then.people, (*then.times, now))
        detail = f"{format_time(now, tz)} {outside}; the next is {coming.describe(tz)}."
        remedy = f"Wait for the next window, or declare one, e.g. {declare}."
    return Gate("window", TITLE, False, detail, remedy, said)
