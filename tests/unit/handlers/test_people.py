"""People in Slack messages: named without a notification where they are only attributed, mentioned
where they must act; a name this process never heard is looked up once with users.info."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError

from bot.audit.actors import name_of, remember
from bot.core.model import Notice, Said
from handlers.blocks.run import named, said_text, slack_date, who
from handlers.blocks.schedule import notice_text
from handlers.people import SlackNames
from sandbox.hostile import hostile, leaks

AT = datetime(2026, 12, 4, 13, 22, 52, tzinfo=UTC)


def test_a_person_slack_named_is_shown_by_name_without_a_mention() -> None:
    remember("UALICE", "alice")
    assert named("UALICE") == "*alice*"
    assert who("UALICE") == "<@UALICE>", "a mention stays a mention where one is meant"


def test_a_person_without_a_known_name_is_mentioned_and_a_cli_actor_is_code() -> None:
    assert named("UNOBODY") == "<@UNOBODY>", "better a mention than an ID"
    assert named("cli:root") == "`cli:root`" == who("cli:root")


def test_a_hostile_name_is_text_on_one_line() -> None:
    remember("UEVE", hostile("eve"))
    shown = named("UEVE")
    assert shown.startswith("*eve&lt;!channel&gt;") and shown.endswith("*")
    assert not leaks(shown) and "\n" not in shown and "```" not in shown


def test_a_sentence_of_the_core_gets_its_people_named_and_its_times_as_slack_dates() -> None:
    remember("UOSCAR", "oscar")
    said = Said("Recorded by {0} at {1} <not markup>.", ("UOSCAR",), (AT,))
    assert said_text(said) == f"Recorded by *oscar* at {slack_date(AT)} &lt;not markup&gt;."
    assert slack_date(AT) == "<!date^1796390572^{date_short_pretty} {time}|2026-12-04 13:22:52 UTC>"
    assert said.render(str) == "Recorded by UOSCAR at 2026-12-04 13:22 UTC <not markup>.", "for a terminal"


def test_a_notice_names_its_people_unless_they_must_act() -> None:
    remember("UALICE", "alice")
    told = Notice("chose the window's start: the purge runs at {0}.", (AT,), ("UALICE",))
    assert notice_text(told) == f"*alice* chose the window's start: the purge runs at {slack_date(AT)}."
    asked = Notice("Request #1 expires at {0}.", (AT,), ("UALICE",), mention=True)
    assert notice_text(asked) == f"<@UALICE>: Request #1 expires at {slack_date(AT)}."


class Client:
    """users.info as Slack answers it: a user with `name`, or an error."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def users_info(self, user: str) -> dict[str, Any]:
        self.asked.append(user)
        answer = self.answers[user]
        if isinstance(answer, Exception):
            raise answer
        return {"ok": True, "user": {"id": user, "name": answer, "tz": "UTC"}}


async def test_an_unknown_name_is_looked_up_once_and_a_failed_lookup_leaves_the_mention() -> None:
    missing = SlackApiError("user_not_found", {"ok": False, "error": "user_not_found"})
    client = Client({"UBOB": "bob", "UGONE": missing, "UDOWN": aiohttp.ClientConnectionError("down")})
    remember("UALICE", "alice")
    names = SlackNames(client)  # type: ignore[arg-type]
    await names.learn(["UALICE", "UBOB", "UBOB", None, "cli:root", "regclean", "UGONE", "UDOWN"])
    assert client.asked == ["UBOB", "UGONE", "UDOWN"], "only Slack users this process does not know, once"
    assert name_of("UBOB") == "bob" and named("UBOB") == "*bob*"
    assert named("UGONE") == "<@UGONE>" and named("UDOWN") == "<@UDOWN>", "the mention is the fallback"
    await names.learn(["UBOB", "UGONE", "UDOWN"])
    assert client.asked == ["UBOB", "UGONE", "UDOWN"], "a failed lookup is not repeated for every message"
