"""Block Kit for times, notices and the approved purge's choice of "now" or "at the window's start".

Times in Slack messages use Slack's date formatting (`<!date^…>`), so that every reader sees
them in their own time zone; the fallback text is UTC.
"""

from __future__ import annotations

import dataclasses

from bot.core.model import Notice
from bot.steps.purge.model import PurgeChoice
from handlers.blocks.run import named, slack_date, who
from handlers.blocks.tables import Block, context, escape, inline, section

PURGE_NOW = "regclean_purge_now"
PURGE_AT_WINDOW = "regclean_purge_at_window"


def notice_text(notice: Notice) -> str:
    """The notice with its times for every reader and its people named first (mentioned when the
    notice says they must act); its text is escaped (it may quote the cluster), the people and
    times are the only markup."""
    text = dataclasses.replace(notice, text=inline(notice.text)).render(slack_date)
    person = who if notice.mention else named
    people = " ".join(person(p) for p in notice.people)
    if not people:
        return text
    # People mentioned are addressed ("@alice: The purge …"); people named are the sentence's subject
    # ("*bob* cancelled the scheduled purge …").
    return f"{people}: {text}" if notice.mention else f"{people} {text}"


def notice_blocks(notice: Notice) -> list[Block]:
    """One section with the notice."""
    return [section(f":alarm_clock: {notice_text(notice)}")]


def choice_blocks(choice: PurgeChoice) -> list[Block]:
    """For the requester: purge now (inside a window) or at the coming window's start."""
    request = choice.request
    lines = [
        f"{who(request.requester)} purge request #{request.id} is approved. "
        "Maintenance windows are in use, so you choose when it runs:"
    ]
    if choice.inside is not None:
        lines.append(f"• now: the window lasts until {slack_date(choice.inside.end)};")
    if choice.can_schedule and choice.coming is not None:
        lines.append(f"• at the next window's start, {slack_date(choice.coming.start)};")
    lines.append(f"The approval expires at {slack_date(request.expires_at)}.")
    blocks: list[Block] = [section("\n".join(lines))]
    if choice.note is not None:
        blocks.append(section(f":warning: {notice_text(choice.note)}"))
    buttons = []
    if choice.inside is not None:
        buttons.append(_button("Purge now", PURGE_NOW, request.id, danger=True))
    if choice.can_schedule:
        buttons.append(_button("Purge at window start", PURGE_AT_WINDOW, request.id, danger=False))
    if buttons:
        blocks.append({"type": "actions", "block_id": f"regclean_choice_{request.id}", "elements": buttons})
    blocks.append(
        context(
            "Only the requester may choose. The gates and the plan are checked again as the purge starts."
        )
    )
    return blocks


def choice_text(choice: PurgeChoice) -> str:
    """The notification text."""
    return f"Purge request #{choice.request.id} is approved: choose when it runs"


def _button(label: str, action_id: str, request_id: int, *, danger: bool) -> Block:
    button: Block = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": str(request_id),
    }
    if danger:
        button["style"] = "danger"
        button["confirm"] = {
            "title": {"type": "plain_text", "text": "Purge the registry now?"},
            "text": {"type": "mrkdwn", "text": escape("Every object in the registry bucket is deleted.")},
            "confirm": {"type": "plain_text", "text": "Purge now"},
            "deny": {"type": "plain_text", "text": "Cancel"},
        }
    return button
