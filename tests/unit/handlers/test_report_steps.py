"""The final report's step lines say what each step's runs did: a step run again on purpose is not
"2 attempts", and a retry says what the runs before it did."""

from __future__ import annotations

import pytest

from bot.steps.close.report import StepTime
from handlers.blocks.report import ran


@pytest.mark.parametrize(
    ("outcomes", "line"),
    [
        (("succeeded",), "succeeded, 4s"),
        (("succeeded", "succeeded"), "succeeded each of the 2 times it ran, 4s in all"),
        (("failed", "succeeded"), "succeeded, 4s in all, after 1 earlier run that failed"),
        (
            ("failed", "interrupted", "failed", "succeeded"),
            "succeeded, 4s in all, after 3 earlier runs (2 failed, 1 interrupted)",
        ),
        (("succeeded", "failed"), "failed, 4s in all, after 1 earlier run that succeeded"),
    ],
)
def test_each_runs_outcome_is_told(outcomes: tuple[str, ...], line: str) -> None:
    step = StepTime("inventory", "Record", len(outcomes), outcomes[-1], 4.2, outcomes)
    assert ran(step) == line
    assert "attempts" not in ran(step)


def test_a_report_stored_before_outcomes_were_kept_still_reads() -> None:
    step = StepTime("verify", "Verify", 2, "succeeded", 61.0)  # as a report stored then decodes
    assert ran(step) == "succeeded the last of the 2 times it ran, 1m1s in all"
