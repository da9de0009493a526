"""Block Kit for a purge request: the plan, its gates, the live count, and Approve / Reject (design §4).

The plan comes from the core as a dict; every value is read with `.get` and escaped, and keys this
module does not know are still shown, because the approvers approve the whole plan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.steps.approval.model import RequestState, RequestView
from bot.steps.inventory.render import align
from bot.steps.purge.model import ApprovalNotice
from handlers.backup_blocks import size
from handlers.blocks import slack_date, who
from handlers.preflight_blocks import gate_sections
from handlers.tables import Block, and_list, capped_chunks, context, escape, header, section, truncate

APPROVE = "regclean_purge_approve"
REJECT = "regclean_purge_reject"

KNOWN = frozenset({"bucket", "minio", "backups", "inventory", "preflight", "window", "gates", "run"})
"""Plan keys rendered on their own (the gates as the request's checklist, the run in the header)."""
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
    return escape(truncate(value, limit))


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


def plan_lines(plan: Mapping[str, Any]) -> list[str]:
    """Bucket, MinIO pod, inventory, preflight and window, one line each."""
    minio = _dict(plan.get("minio"))
    inventory = _dict(plan.get("inventory"))
    pre = _dict(plan.get("preflight"))
    pod = "/".join(str(minio[k]) for k in ("namespace", "pod") if minio.get(k)) or None
    lines = [
        f"*Bucket* {code(plan.get('bucket'))} through the MinIO pod {code(pod)}",
        f"*Inventory* snapshot #{text(inventory.get('snapshot'))}: {text(inventory.get('operators'))} "
        f"operators, {text(inventory.get('plugins'))} plugins",
    ]
    custom = f"{text(pre.get('custom'))} custom images"
    if pre.get("custom_ack_by"):
        custom += f", acknowledged by {who(str(pre['custom_ack_by']))}"
    lines.append(
        f"*Preflight* #{text(pre.get('id'))}: {text(pre.get('packages'))} packages; "
        f"{text(pre.get('repositories'))} repositories and {text(pre.get('tags'))} tags in the registry; "
        f"{custom}; {text(pre.get('workload_images'))} images used by workloads"
    )
    lines.append(f"*Window* {window_text(plan.get('window'))}")
    return lines


def backup_blocks(backups: Any) -> list[Block]:
    """The node backups of the plan as a table: node, address, archive, size, sha256."""
    rows = [_dict(b) for b in backups] if isinstance(backups, list) else []
    if not rows:
        return [section("*Backups* –")]
    table = align(
        ("NODE", "ADDRESS", "ARCHIVE", "SIZE", "SHA256"),
        [
            (
                _plain(b.get("node")),
                _plain(b.get("address")),
                _plain(b.get("archive")),
                size(b["bytes"]) if isinstance(b.get("bytes"), int) else _plain(b.get("bytes")),
                _plain(b.get("sha256")),
            )
            for b in rows
        ],
    )
    chunks, rest = capped_chunks(table[1:], BACKUP_SECTIONS, head=table[0])
    blocks = [section(f"*Backups* of {len(rows)} nodes"), *(section(c) for c in chunks)]
    if rest:
        blocks.append(context(f"…and {rest} more nodes."))
    return blocks


def approval_blocks(notice: ApprovalNotice) -> list[Block]:
    """The request as the channel sees it; buttons only while it is open."""
    request = notice.request
    plan = request.plan
    blocks: list[Block] = [
        header(f"Purge request #{request.id}"),
        section(
            f"{who(request.requester)} asks to empty the registry bucket. {request.required} approvers "
            "must approve this exact plan; the gates are checked again when the purge starts."
        ),
        section("\n".join(plan_lines(plan))),
        *backup_blocks(plan.get("backups")),
    ]
    extra = [
        f"*{text(k, 60)}* {code(v)}"
        for k, v in sorted(plan.items(), key=lambda kv: str(kv[0]))
        if k not in KNOWN
    ]
    if extra:
        more = f"\n…and {len(extra) - 10} more" if len(extra) > 10 else ""
        blocks.append(section("*Also in the plan*\n" + "\n".join(extra[:10]) + more))
    if notice.gates:
        blocks.append(section("*Gates when the request was made*"))
        blocks.extend(gate_sections(notice.gates))
    blocks.append(section(f"*Fingerprint* `{escape(request.fingerprint[:12])}` · {count_line(request)}"))
    blocks.append(context(f"Plan fingerprint (sha256): `{escape(request.fingerprint)}`"))
    asked = f"Requested by {who(request.requester)} at {slack_date(request.created_at)}"
    outcome = outcome_line(request)
    if outcome is None:
        blocks.append(context(f"{asked} · open until {slack_date(request.expires_at)}"))
        blocks.append(_buttons(request))
    else:
        blocks.append(context(asked))
        blocks.append(section(outcome))
    return blocks


def approval_text(notice: ApprovalNotice) -> str:
    """The notification text (shown where blocks are not)."""
    request = notice.request
    state = {
        RequestState.OPEN: count_line(request),
        RequestState.APPROVED: "approved; the purge is starting or waits for its window",
        RequestState.STARTED: "approved; the purge has started",
        RequestState.REJECTED: "rejected",
        RequestState.EXPIRED: "expired",
        RequestState.VOID: "void (the plan changed)",
    }[request.state]
    return f"Purge request #{request.id} by {who(request.requester)}: {state}"


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


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _plain(value: Any) -> str | None:
    """A table cell (escaped later, with the whole code block)."""
    return None if value is None else truncate(str(value), 80)


def window_text(window: object) -> str:
    """The plan's window (`START/END` in ISO 8601) with times each reader sees in their own zone."""
    start, _, end = str(window).partition("/")
    try:
        first, last = datetime.fromisoformat(start), datetime.fromisoformat(end)
    except ValueError:
        return text(window)  # "no maintenance windows are configured", or nothing
    return f"{slack_date(first)} to {slack_date(last)}"
