"""What the simulated workspace records: messages, ephemerals, files, rejections, people."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass
class UploadedFile:
    """A file uploaded through the files_upload_v2 trio."""

    id: str
    name: str
    title: str | None
    content: bytes
    channel: str | None
    thread_ts: str | None
    initial_comment: str | None


@dataclass
class Message:
    """A message in a channel as the simulator holds it now (updates applied)."""

    channel: str
    ts: str
    thread_ts: str | None
    text: str
    blocks: list[dict[str, Any]]
    user: str
    updates: int = 0
    files: list[UploadedFile] = field(default_factory=list)
    metadata: dict[str, Any] | None = None
    """`{"event_type", "event_payload"}` as chat.postMessage's `metadata` gave it."""

    def button(self, action_id: str) -> dict[str, Any] | None:
        """The message's button with this action ID, as a person would find it to click."""
        for block in self.blocks:
            for element in block.get("elements", []) or []:
                if isinstance(element, dict) and element.get("action_id") == action_id:
                    return element
        return None

    def to_slack(self, bot_id: str, *, with_metadata: bool = False) -> dict[str, Any]:
        """The message as Slack shows it in API responses and interaction payloads."""
        body: dict[str, Any] = {
            "type": "message",
            "text": self.text,
            "user": self.user,
            "bot_id": bot_id,
            "ts": self.ts,
            "blocks": self.blocks,
        }
        if self.thread_ts is not None:
            body["thread_ts"] = self.thread_ts
        if with_metadata and self.metadata is not None:
            body["metadata"] = self.metadata
        if self.updates:
            body["edited"] = {"user": self.user, "ts": self.ts}
        return body


@dataclass
class Ephemeral:
    """A message only one user sees: chat.postEphemeral, a response_url post or an ack's reply."""

    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    source: str  # "chat.postEphemeral" | "response_url" | "ack"


@dataclass
class Rejection:
    """A call that real Slack would refuse."""

    method: str
    error: str
    detail: str


@dataclass
class User:
    """A member of the workspace."""

    id: str
    name: str
    real_name: str
    is_bot: bool = False


@dataclass
class Usergroup:
    """A user group (subteam) with its handle and members."""

    id: str
    handle: str
    user_ids: list[str]


@dataclass
class UserAction:
    """What a person did in the Slack client: typed a slash command or clicked a button."""

    kind: Literal["command", "click"]
    user: str
    channel: str
    text: str


@dataclass
class AckReport:
    """How an interaction was acknowledged, kept so the transcript can show missing acks."""

    user: str
    channel: str
    acked: bool
    detail: str
