"""Block Kit for a purge request: the plan, its gates, the live count, and Approve / Reject.

The plan comes from the core as a typed `Plan`; every value is escaped. The fields not rendered on
their own are listed from the plan's encoding, so a field added to the plan is shown too: the
approvers approve the whole plan. What the purge deletes (the bucket as measured, the command
whole), the way back and the Approve dialog are in `approval_scope.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from bot.steps.approval.model import RequestState, RequestView
from bot.steps.approval.plan import Plan, PlannedBackup
from bot.steps.inventory.render import align
from bot.steps.purge.model import ApprovalNotice
from handlers.blocks.approval_scope import (
    approve_confirm,
    asking_block,
    command_block,
    measured_line,
    rollback_block,
)
from handlers.blocks.backup import size
from handlers.blocks.custom_images import custom_plan_lines
from handlers.blocks.preflight import gate_sections
from handlers.blocks.run import slack_date, who
from handlers.blocks.tables import (
    Block,
    and_list,
    capped_chunks,
    context,
    header,
    inline,
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
#: code blocks of the backup table; a plan with more nodes says how many were left out
BACKUP_SECTIONS = 3
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
        line += ": " + ", ".join(who(a) for a in request.approvals)
    return line


def outcome_line(request: RequestView) -> str | None:
    """What became of a closed request; None while it is open."""
    approvers = and_list(who(a) for a in request.approvals) or "nobody"
    return {
        RequestState.OPEN: None,
        RequestState.APPROVED: f":white_check_mark: Approved by {approvers}; the purge is starting (or waits for the window the requester chose).",
        RequestState.STARTED: (
            f":white_check_mark: Approved by {approvers}; the purge has started. "
            "Its result goes to the run's thread."
        ),
        RequestState.REJECTED: (
            f":no_entry: Rejected by {who(request.closed_by)}."
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
        custom += f", acknowledged by {who(pre.custom_ack_by)}"
    if pre.unverified:
        custom += f"; {text(pre.unverified)} packages without a verification file"
        if pre.unverified_ack_by:
            custom += f", acknowledged by {who(pre.unverified_ack_by)}"
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


def backup_blocks(backups: Sequence[PlannedBackup]) -> list[Block]:
    """The node backups of the plan as a table: node, address, archive, size, sha256."""
    if not backups:
        return [section("*Backups* –")]
    table = align(
        ("NODE", "ADDRESS", "ARCHIVE", "SIZE", "SHA256"),
        [
            (
                _plain(b.node),
                _plain(b.address),
                _plain(b.archive),
                size(b.bytes) if b.bytes is not None else None,
                _plain(b.sha256),
            )
            for b in backups
        ],
    )
    chunks, rest = capped_chunks(table[1:], BACKUP_SECTIONS, head=table[0])
    blocks = [section(f"*Backups* of {len(backups)} nodes"), *(section(c) for c in chunks)]
    if rest:
        blocks.append(context(f"…and {rest} more nodes."))
    return blocks


Part = Callable[[ApprovalNotice], list[Block]]


def _intro(notice: ApprovalNotice) -> list[Block]:
    request = notice.request
    lines = [
        f"{who(request.requester)} asks to empty the registry bucket. {inline(notice.rule)} "
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
    extra = [f"*{text(k, 60)}* {code(v)}" for k, v in sorted(plan.encode().items()) if k not in KNOWN]
    if extra:
        blocks.append(section("*Also in the plan*\n" + "\n".join(extra)))
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
    asked = f"Requested by {who(request.requester)} at {slack_date(request.created_at)}"
    outcome = outcome_line(request)
    if outcome is None:
        blocks.append(context(f"{asked} · open until {slack_date(request.expires_at)}"))
        blocks.append(_buttons(request))
    else:
        blocks.append(context(asked))
        blocks.append(section(outcome))
    return blocks


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
        RequestState.STARTED: "approved; the purge has started",
        RequestState.REJECTED: "rejected",
        RequestState.EXPIRED: "expired",
        RequestState.VOID: "void (the plan changed)",
    }[request.state]
    line = f"Purge request #{request.id} by {who(request.requester)}: {state}"
    return f"{mentions}: {line}" if mentions else line


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


def _plain(value: str | None) -> str | None:
    """A table cell (escaped later, with the whole code block)."""
    return None if value is None else truncate(value, 80)


def window_text(window: str) -> str:
    """The plan's window (`START/END` in ISO 8601) with times each reader sees in their own zone."""
    start, _, end = window.partition("/")
    try:
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    except ValueError:
        return text(window)  # "no maintenance windows are configured", or nothing
    return f"{slack_date(first)} to {slack_date(last)}"
