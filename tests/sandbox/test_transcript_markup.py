"""The transcript shows Slack's markup as Slack shows it to a reader in UTC: mentions by name,
user groups by handle, `<!date^…>` formatted (docs.slack.dev, "Formatting text for app surfaces")."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import pytest

from sandbox.slack import Message, SlackWorkspace
from sandbox.slack.markup import render_markup
from sandbox.slack.transcript import render_block

NOW = datetime(2026, 12, 4, 13, 40, tzinfo=UTC)
TODAY = int(datetime(2026, 12, 4, 13, 22, 52, tzinfo=UTC).timestamp())
NAMES = {"UALICE": "alice"}
markup = partial(
    render_markup,
    user_name=lambda u: NAMES.get(u, u),
    now=NOW,
    group_handle=lambda g: "platform-ops" if g == "S0PLATFORM" else None,
)


def test_mentions_read_as_names_and_groups_as_their_handles() -> None:
    assert markup("Thank you, <@UALICE> and <@UBOB|bob>.") == "Thank you, @alice and @UBOB."
    assert (
        markup("<!subteam^S0PLATFORM|@platform-ops> and <!subteam^S0PLATFORM>")
        == "@platform-ops and @platform-ops"
    )
    assert markup("<!subteam^S0OTHER|@others>") == "@others", "a group the workspace does not know: its label"
    assert markup("<!channel> <https://x.example|a link>") == "<!channel> <https://x.example|a link>", "kept"


@pytest.mark.parametrize(
    ("at", "shown"),
    [
        (datetime(2026, 12, 4, 13, 22, 52, tzinfo=UTC), "Today 13:22"),
        (datetime(2026, 12, 3, 23, 59, tzinfo=UTC), "Yesterday 23:59"),
        (datetime(2026, 12, 5, 0, 5, tzinfo=UTC), "Tomorrow 00:05"),
        (datetime(2026, 12, 6, 21, 42, tzinfo=UTC), "Dec 6, 2026 21:42"),
        (datetime(2025, 1, 2, 3, 4, tzinfo=UTC), "Jan 2, 2025 03:04"),
    ],
)
def test_a_date_reads_as_slack_shows_it_relative_to_the_workspaces_clock(at: datetime, shown: str) -> None:
    text = f"at <!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{at:%Y-%m-%d %H:%M:%S} UTC>."
    assert markup(text) == f"at {shown}."


@pytest.mark.parametrize(
    ("template", "shown"),
    [
        ("{date_num}", "2026-12-04"),
        ("{date}", "December 4th, 2026"),
        ("{date_short}", "Dec 4, 2026"),
        ("{date_long}", "Friday, December 4th, 2026"),
        ("{date_pretty} {time_secs}", "Today 13:22:52"),
        ("{date_long_pretty}", "Today"),
        ("on {date_slash}, {nonsense}", "on 04/12/2026, {nonsense}"),
    ],
)
def test_every_documented_token_is_formatted(template: str, shown: str) -> None:
    assert markup(f"<!date^{TODAY}^{template}|fallback>") == shown


def test_a_date_slack_cannot_read_shows_its_fallback() -> None:
    assert markup("<!date^soon^{time}|2026-12-04 13:22 UTC>") == "2026-12-04 13:22 UTC"


def test_escaped_markup_in_a_block_stays_text() -> None:
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "by <@UALICE>, not &lt;@UALICE&gt;"}}
    assert render_block(block, markup) == ["by @alice, not <@UALICE>"]


def test_the_transcript_renders_the_markup_of_every_message() -> None:
    ws = SlackWorkspace()
    ws.add_user("UALICE", "alice")
    ws.now = lambda: NOW
    context = {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": f"<@UALICE> <!date^{TODAY}^{{time}}|x>"}],
    }
    ws.record(Message(ws.channel_id, ws.next_ts(), None, "fallback", [context], ws.bot_user_id))
    ws.record(Message(ws.channel_id, ws.next_ts(), None, "by <@UALICE>", [], ws.bot_user_id))
    transcript = ws.transcript()
    assert "@alice 13:22" in transcript and "by @alice" in transcript and "UALICE" not in transcript
