"""What a purge request says the purge deletes and how to go back: the bucket as measured when the
request was made, the whole MinIO command, the rollback, the mention of the approvers, and the
confirmation behind Approve (docs/architecture.md, "The approval request")."""

from __future__ import annotations

from bot.steps.approval.model import BucketMeasure, RequestView
from bot.steps.approval.plan import Plan
from bot.steps.inventory.render import columns
from handlers.blocks.backup import size
from handlers.blocks.run import slack_date
from handlers.blocks.tables import LINE, SECTION_BUDGET, Block, context, escape, inline, section, truncate

ROLLBACK = "regclean rollback --plan"
"""The command that prints how to put MinIO's directories back from the plan's backups."""
CONFIRM_TEXT = 300
"""Slack's limit for a confirmation dialog's text."""


def amount(measured: BucketMeasure) -> str:
    """`1,234 objects, 4.2 GiB` (`object versions` when every version was counted); `` when unknown."""
    if measured.objects is None or measured.bytes is None:
        return ""
    noun = "object version" if measured.versions else "object"
    plural = "" if measured.objects == 1 else "s"
    return f"{measured.objects:,} {noun}{plural}, {size(measured.bytes)}"


def measured_line(request: RequestView) -> str | None:
    """`*Deletes* 1,234 objects, 4.2 GiB (measured …)`, or why it could not be measured; None for a
    request stored before requests were measured."""
    measured = request.measured
    if measured is None:
        return None
    when = f"measured {slack_date(measured.at)}"
    if measured.known:
        line = f"*Deletes* everything in the bucket: {amount(measured)} ({when})"
        if measured.versions:
            line += "; the bucket is versioned, so every version counts, as the purge removes them all"
        return line
    problem = inline(truncate(measured.problem or "no reason was given", 600))
    return (
        f"*Deletes* everything in the bucket; its size could not be measured ({when}): {problem} "
        "The request goes out all the same: the purge measures the bucket again before it deletes."
    )


def command_block(plan: Plan) -> Block:
    """The purge command whole, as a code block of lines a phone shows (`shell_lines()`): nothing of
    it, the target least of all, is cut."""
    pod = "/".join(part for part in (plan.minio.namespace, plan.minio.pod) if part) or "–"
    command = escape("\n".join(shell_lines(plan.command))).replace("```", "ˋˋˋ")
    room = SECTION_BUDGET - len(pod) - 60
    if len(command) > room:  # only a command longer than a section: keep its start and its target
        half = room // 2
        command = escape(plan.command).replace("```", "ˋˋˋ")
        command = command[:half] + " … " + command[-half:]
    return section(f"*Runs in the MinIO pod* `{inline(pod)}`:\n```{command}```")


def shell_lines(command: str, width: int = LINE) -> list[str]:
    """A one-line shell command as lines of at most `width` columns that a shell reads as the same
    command: a new line after each `&&`, and a part still too long broken at a space outside quotes,
    its line ending in ` \\`. A single word wider than a line stays whole on its own line."""
    words, start, quote = [], 0, ""
    for i, c in enumerate(command):
        if quote:
            quote = "" if c == quote else quote
        elif c in "'\"":
            quote = c
        elif c == " ":
            words.append(command[start:i])
            start = i + 1
    words.append(command[start:])
    lines: list[str] = []
    current, indent = words[0], "  "
    for word in words[1:]:
        if current.strip() == "":
            current += word
        elif word == "&&":
            lines.append(current + " &&")
            current = "  "
        elif columns(current) + 1 + columns(word) + 2 <= width:
            current += " " + word
        else:
            lines.append(current + " \\")
            current = indent + "  " + word
    return [*lines, current]


def rollback_block(plan: Plan) -> Block:
    """How to go back, should the purge have to be undone."""
    return context(
        f"To undo: `{ROLLBACK} --run {plan.run}` prints how to put /cpaas/minio back on every node "
        "from the backups above (README, Rollback)."
    )


def asking_block(request: RequestView, mentions: str) -> Block:
    """The approvers, mentioned: only in the post that asks, so that the updates notify nobody."""
    return section(f"{mentions}: purge request #{request.id} needs {request.required} approvals.")


def approve_confirm(request: RequestView) -> Block:
    """The dialog behind Approve: what the purge empties, as measured, and the way back."""
    plan, measured = request.plan, request.measured
    what = f"This empties the registry bucket `{inline(truncate(plan.bucket, 63))}`"
    if measured is not None and measured.known:
        # No Slack date here: the dialog's 300 characters would cut one, and the request shows the time.
        what += f": {amount(measured)}, as measured when the request was made"
    text = (
        f"{what}. When the last approval is in, the purge starts (or waits for the window the "
        f"requester chooses). To undo: `{ROLLBACK}` (README, Rollback)."
    )
    return {
        "title": {"type": "plain_text", "text": f"Approve purge request #{request.id}?"},
        "text": {"type": "mrkdwn", "text": truncate(text, CONFIRM_TEXT)},
        "confirm": {"type": "plain_text", "text": "Approve"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
