"""What `/regclean audit` accepts, and the names the trail learns from commands and button presses."""

from __future__ import annotations

import pytest

from bot.audit.actors import name_of
from handlers.audit_commands import remember_actor, run_of


def test_a_run_number_or_nothing() -> None:
    assert run_of(()) is None and run_of(("12",)) == 12
    for bad in (("0",), ("-1",), ("last",), ("1", "2")):
        with pytest.raises(ValueError, match="takes a run's number or nothing"):
            run_of(bad)


def test_names_come_from_commands_and_button_presses() -> None:
    remember_actor({"user_id": "UCMD1", "user_name": "dora", "command": "/regclean"})
    remember_actor({"type": "block_actions", "user": {"id": "UBTN1", "username": "erin", "name": "erin"}})
    remember_actor({"type": "event_callback"})  # nobody named: nothing learnt, nothing raised
    assert (name_of("UCMD1"), name_of("UBTN1"), name_of("UNEVER")) == ("dora", "erin", None)
