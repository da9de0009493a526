"""Block Kit for a purge request: the plan, its gates, the live count, and Approve / Reject.

The plan comes from the core as a typed `Plan`; every value is escaped. The fields not rendered on
their own are listed from the plan's encoding, so a field added to the plan is shown too: the
approvers approve the whole plan. What the purge deletes (the bucket as measured, the command
whole), the way back and the Approve dialog are in `approval_scope.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.core.model import StepState, StepView
from bot.steps.approval.model import RequestState, RequestView
from bot.steps.approval.plan import Plan
from bot.steps.purge.model import ApprovalNotice
from handlers.blocks.approval_scope import (
    approve_confirm,
    asking_block,
    command_block,
    measured_line,
    rollback_block,
)
from handlers.blocks.backup import backup_blocks
from handlers.blocks.custom_images import custom_plan_lines
from handlers.blocks.preflight import gate_sections
from handlers.blocks.run import named, slack_date
from handlers.blocks.tables import (
    Block,
    and_list,
    capped_entries,
    context,
    flat_values,
    header,
    inline,
    key_values,
    section,
    truncate,
)

APPROVE = "regclean_purge_approve"
REJECT = "regclean_purge_reject"
KNOWN = frozenset(
    {"bucket", "minio", "command", "backups", "inventory", "preflight", "window", "gates", "run"}
)
"""Encoded plan keys rendered on their own (the gates as the request's checklist, the run in the header,
the command whole in a code block); the others are listed under "Also in the plan"."""
#: code blocks of the plan's other values ("Also in the plan"); the rest are counted
EXTRA_SECTIONS = 3
VALUE = 200
"""A plan value is cut here."""


def text(value: Any, limit: int = VALUE) -> str:
    """A plan value as escaped text (`–` when missing)."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, str):
        value = json.dumps(value, default=str, ensure_ascii=False)
    return inline(truncate(value, limit))


def code(value: Any, limit: int = VALUE) -> str:
    """A plan value in code quotes; a backtick in it cannot end the quote early."""
    return f"`{text(value, limit).replace('`', 'ˋ')}`"


def count_line(request: RequestView) -> str:
    """`1 of 2 approved: <@U1>`, or `0 of 2 approved`."""
    line = f"{len(request.approvals)} of {request.required} approved"
    if request.approvals:
        line += ": " + ", ".join(named(a) for a in request.approvals)
    return line


def outcome_line(request: RequestView, purge: StepView | None = None) -> str | None:
    """What became of a closed request, and of the purge it started; None while it is open."""
    approvers = and_list(named(a) for a in request.approvals) or "nobody"
    return {
        RequestState.OPEN: None,
        RequestState.APPROVED: f":white_check_mark: Approved by {approvers}; the purge is starting (or waits for the window the requester chose).",
        RequestState.STARTED: purge_outcome(approvers, purge),
        RequestState.REJECTED: (
            f":no_entry: Rejected by {named(request.closed_by)}."
            if request.closed_by and request.closed_by != "regclean"
            else ":no_entry: Rejected."
        ),
        RequestState.EXPIRED: (
            f":hourglass: Expired at {slack_date(request.expires_at)}; "
            "ask for a new one with `/regclean purge`."
        ),
        RequestState.VOID: (
            ":warning: The plan changed after this request was made (a new backup, a new inventory "
            "or another MinIO pod), so it is void; ask for a new one with `/regclean purge`."
        ),
    }[request.state]


def plan_lines(plan: Plan, in_use: Mapping[str, tuple[str, ...]] | None = None) -> list[str]:
    """Bucket, MinIO pod, inventory, preflight and window, one line each."""
    inventory, pre = plan.inventory, plan.preflight
    pod = "/".join(part for part in (plan.minio.namespace, plan.minio.pod) if part) or None
    bucket = f"*Bucket* {code(plan.bucket)} through the MinIO pod {code(pod)}"
    if plan.minio.versioned:
        bucket += (
            f"; versioning is {text(plan.minio.versioning).lower()}, so every version and delete marker "
            "is removed (`--versions`)"
        )
    elif plan.minio.versioning == "":
        bucket += "; not versioned"
    lines = [
        bucket,
        f"*Inventory* snapshot #{text(inventory.snapshot)}: {text(inventory.operators)} "
        f"operators, {text(inventory.plugins)} plugins",
    ]
    custom = f"{text(pre.custom)} custom images"
    if pre.custom_ack_by:
        custom += f", acknowledged by {named(pre.custom_ack_by)}"
    if pre.unverified:
        custom += f"; {text(pre.unverified)} packages without a verification file"
        if pre.unverified_ack_by:
            custom += f", acknowledged by {named(pre.unverified_ack_by)}"
    lines.append(
        f"*Preflight* #{text(pre.id)}: {text(pre.packages)} packages; "
        f"{text(pre.repositories)} repositories and {text(pre.tags)} tags in the registry; "
        f"{custom}; {text(pre.workload_images)} images used by workloads"
    )
    lines.append(f"*Window* {window_text(plan.window)}")
    if plan.registry_cache is not None:
        lines.append(
            f"*Registry cache* {text(plan.registry_cache.describe().removeprefix('registry cache: '))}"
        )
    lines += custom_plan_lines(plan, in_use)
    return lines


Part = Callable[[ApprovalNotice], list[Block]]


def _intro(notice: ApprovalNotice) -> list[Block]:
    request = notice.request
    lines = [
        f"{named(request.requester)} asks to empty the registry bucket. {inline(notice.rule)} "
        "The gates are checked again when the purge starts."
    ]
    measured = measured_line(request)
    if measured is not None:
        lines.append(measured)
    return [section("\n".join(lines)), command_block(request.plan)]


def _plan(notice: ApprovalNotice) -> list[Block]:
    plan = notice.request.plan
    blocks = [
        section("\n".join(plan_lines(plan, notice.in_use))),
        *backup_blocks(plan.backups),
        rollback_block(plan),
    ]
    extra = [
        entry
        for k, v in sorted(plan.encode().items())
        if k not in KNOWN
        for entry in key_values(flat_values(k, v))
    ]
    chunks, rest = capped_entries(extra, EXTRA_SECTIONS)
    if chunks:
        blocks += [section("*Also in the plan*"), *(section(c) for c in chunks)]
    if rest:
        blocks.append(context(f"…and {rest} more values of the plan."))
    return blocks


def _gates(notice: ApprovalNotice) -> list[Block]:
    if not notice.gates:
        return []
    return [section("*Gates when the request was made*"), *gate_sections(notice.gates)]


def _decision(notice: ApprovalNotice) -> list[Block]:
    request = notice.request
    blocks = [
        section(f"*Fingerprint* `{inline(request.fingerprint[:12])}` · {count_line(request)}"),
        context(f"Plan fingerprint (sha256): `{inline(request.fingerprint)}`"),
    ]
    asked = f"Requested by {named(request.requester)} at {slack_date(request.created_at)}"
    outcome = outcome_line(request, notice.purge)
    if outcome is None:
        blocks.append(context(f"{asked} · open until {slack_date(request.expires_at)}"))
        blocks.append(_buttons(request))
    else:
        blocks.append(context(asked))
        blocks.append(section(outcome))
    return blocks


def purge_outcome(approvers: str, purge: StepView | None) -> str:
    """A started request's last line: the purge running, or how it ended, as the run's thread tells it."""
    approved = f"Approved by {approvers}"
    if purge is None or purge.state is StepState.RUNNING:
        return (
            f":hourglass_flowing_sand: {approved}; the purge is running. Its result goes to the run's thread."
        )
    at = f" at {slack_date(purge.finished_at)}" if purge.finished_at else ""
    if purge.state is StepState.SUCCEEDED:
        done = f": {inline(purge.summary)}" if purge.summary else ""
        return f":white_check_mark: {approved}; the purge succeeded{at}{done}."
    why = f": {inline(truncate(purge.error, 300))}" if purge.error else ""
    ended = "failed" if purge.state is StepState.FAILED else "was interrupted"
    return f":x: {approved}; the purge {ended}{at}{why}. The run's thread says what to do next."


PARTS: tuple[Part, ...] = (_intro, _plan, _gates, _decision)
"""The request's parts, in order, under its header: a new part of the request is one function here."""


def approval_blocks(notice: ApprovalNotice, mentions: str = "") -> list[Block]:
    """The request as the channel sees it; buttons only while it is open. `mentions` (Slack mention
    syntax) is given only for the post that asks, never for the updates."""
    request = notice.request
    blocks: list[Block] = [header(f"Purge request #{request.id}")]
    if mentions:
        blocks.append(asking_block(request, mentions))
    for part in PARTS:
        blocks.extend(part(notice))
    return blocks


def approval_text(notice: ApprovalNotice, mentions: str = "") -> str:
    """The notification text (shown where blocks are not), with the mentions of the post that asks."""
    request = notice.request
    state = {
        RequestState.OPEN: count_line(request),
        RequestState.APPROVED: "approved; the purge is starting or waits for its window",
        RequestState.STARTED: purge_state(notice.purge),
        RequestState.REJECTED: "rejected",
        RequestState.EXPIRED: "expired",
        RequestState.VOID: "void (the plan changed)",
    }[request.state]
    line = f"Purge request #{request.id} by {named(request.requester)}: {state}"
    return f"{mentions}: {line}" if mentions else line


def purge_state(purge: StepView | None) -> str:
    """The started request's state in a few words, for the notification text."""
    if purge is None or purge.state is StepState.RUNNING:
        return "approved; the purge started and is running"
    return f"approved; the purge {purge.state.value}"


def _buttons(request: RequestView) -> Block:
    value = str(request.id)
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": APPROVE,
                "style": "primary",
                "value": value,
                "text": {"type": "plain_text", "text": "Approve"},
                "confirm": approve_confirm(request),
            },
            {
                "type": "button",
                "action_id": REJECT,
                "style": "danger",
                "value": value,
                "text": {"type": "plain_text", "text": "Reject"},
                "confirm": {
                    "title": {"type": "plain_text", "text": f"Reject purge request #{request.id}?"},
                    "text": {
                        "type": "mrkdwn",
                        "text": "This closes the request for everyone; a new one must be asked for.",
                    },
                    "confirm": {"type": "plain_text", "text": "Reject"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                    "style": "danger",
                },
            },
        ],
    }


def window_text(window: str) -> str:
    """The plan's window (`START/END` in ISO 8601) with times each reader sees in their own zone."""
    start, _, end = window.partition("/")
    try:
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    except ValueError:
        return text(window)  # "no maintenance windows are configured", or nothing
    return f"{slack_date(first)} to {slack_date(last)}"
