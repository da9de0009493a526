"""response_url: where an app answers a slash command or a click after acking it."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.slack.models import Ephemeral, Rejection
from sandbox.slack.validation import SlackError, parse_blocks, validate_message
from sandbox.slack.webapi import post_message, thread_param

if TYPE_CHECKING:
    from sandbox.slack.workspace import SlackWorkspace

# Slack documents that a response_url works "up to five times within 30 minutes".
MAX_USES = 5
METHOD = "response_url"


@dataclass
class ResponseTarget:
    """Where one response_url answers: the user who acted and, for a click, the message."""

    channel: str
    user: str
    message_ts: str | None
    thread_ts: str | None
    uses: int = 0


class ResponseUrls:
    """The response_urls handed out with slash commands and clicks."""

    def __init__(self) -> None:
        self.targets: dict[str, ResponseTarget] = {}
        self._ids = itertools.count(1)

    def issue(self, base_url: str, target: ResponseTarget) -> str:
        """A new response_url for target."""
        response_id = f"R{next(self._ids):06d}"
        self.targets[response_id] = target
        return f"{base_url}/response/{response_id}"


def post(workspace: SlackWorkspace, response_id: str, body: Any) -> tuple[int, str]:
    """Handle one POST to a response_url; returns the HTTP status and body Slack would send."""
    target = workspace.response_urls.targets.get(response_id)
    workspace.record_call(METHOD, body if isinstance(body, dict) else {"raw": body})
    if target is None:
        return _refuse(workspace, 404, "no_service", f"no response_url {response_id}")
    if not isinstance(body, dict):
        return _refuse(workspace, 400, "invalid_payload", "the body is not a JSON object")
    if target.uses >= MAX_USES:
        return _refuse(workspace, 404, "used_url", f"response_url used more than {MAX_USES} times")
    target.uses += 1
    try:
        _deliver(workspace, target, body)
    except SlackError as exc:
        return _refuse(workspace, 400, exc.error, exc.detail)
    return 200, "ok"


def _deliver(workspace: SlackWorkspace, target: ResponseTarget, body: dict[str, Any]) -> None:
    text = body.get("text")
    text = None if text is None else str(text)
    original = workspace.find_message(target.channel, target.message_ts) if target.message_ts else None
    if body.get("delete_original") and original is not None:
        workspace.messages.remove(original)
        workspace.timeline.remove(original)
        workspace.notify()
        return
    blocks = parse_blocks(body.get("blocks"))
    validate_message(text, blocks)
    if body.get("replace_original") and original is not None:
        # A replacement is a whole new body: blocks not sent are gone, unlike chat.update.
        original.text, original.blocks = text or "", blocks or []
        original.updates += 1
        workspace.notify()
        return
    thread_ts = body.get("thread_ts") or target.thread_ts
    thread_ts = None if thread_ts is None else str(thread_ts)
    if body.get("response_type") == "in_channel":
        post_message(workspace, target.channel, text, blocks, thread_ts)
        return
    thread_ts = thread_param(workspace, target.channel, thread_ts)
    workspace.record(Ephemeral(target.channel, target.user, text or "", blocks or [], thread_ts, METHOD))


def _refuse(workspace: SlackWorkspace, status: int, error: str, detail: str) -> tuple[int, str]:
    workspace.record(Rejection(METHOD, error, detail))
    return status, error
