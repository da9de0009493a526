"""RepliesPerUser: the same private reply to the same person goes out once per window."""

from __future__ import annotations

import pytest

from handlers import reply_pacing
from handlers.reply_pacing import RepliesPerUser, held_back_note


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_same_answer_is_held_back_and_counted_until_the_window_passes() -> None:
    clock = Clock()
    replies = RepliesPerUser(window=10, clock=clock)
    assert replies.admit("UOSCAR", "busy") == 0
    assert [replies.admit("UOSCAR", "busy") for _ in range(999)] == [None] * 999
    clock.now = 9.9
    assert replies.admit("UOSCAR", "busy") is None
    clock.now = 10.0
    assert replies.admit("UOSCAR", "busy") == 1000
    assert replies.admit("UOSCAR", "busy") is None


def test_other_people_and_other_answers_are_never_held_back() -> None:
    replies = RepliesPerUser(window=10, clock=Clock())
    assert replies.admit("UOSCAR", "busy") == 0
    assert replies.admit("UALICE", "busy") == 0
    assert replies.admit("UOSCAR", "refused: not an operator") == 0


def test_memory_stays_bounded_under_a_flood_of_different_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reply_pacing, "MAX_TRACKED", 50)
    clock = Clock()
    replies = RepliesPerUser(window=10, clock=clock)
    for n in range(500):
        assert replies.admit(f"U{n}", "busy") == 0
    assert len(replies) <= 50
    clock.now = 100
    replies.admit("UNEW", "busy")
    assert len(replies) == 1, "answers older than the window, with nothing held back, are forgotten"


def test_the_note_counts_what_was_held_back() -> None:
    assert held_back_note(0) == ""
    assert "1 more time " in held_back_note(1)
    assert "1,000 more times" in held_back_note(1000)
