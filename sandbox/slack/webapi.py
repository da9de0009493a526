"""Web API methods for messages, people and groups: each takes the workspace and the call's params."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import yaml

from sandbox.people import TIMEZONES
from sandbox.slack.models import Ephemeral, Message
from sandbox.slack.validation import SlackError, parse_blocks, validate_message, validate_ts

if TYPE_CHECKING:
    from sandbox.slack.workspace import SlackWorkspace

Handler = Callable[["SlackWorkspace", dict[str, Any]], Awaitable[dict[str, Any]]]

MANIFEST = Path(__file__).resolve().parents[2] / "manifest.yml"

#: method → the bot scopes any one of which lets a bot token call it (Slack's `x-accepted-oauth-scopes`);
#: methods not listed need none (auth.test, apps.connections.open with the app token)
ACCEPTED_SCOPES: dict[str, tuple[str, ...]] = {
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "users.info": ("users:read",),
    "conversations.history": ("channels:history", "groups:history"),
    "usergroups.list": ("usergroups:read",),
    "usergroups.users.list": ("usergroups:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
}


@cache
def manifest_scopes() -> frozenset[str]:
    """The bot scopes manifest.yml asks for: what an app installed from it is granted."""
    doc = yaml.safe_load(MANIFEST.read_text())
    return frozenset(doc["oauth_config"]["scopes"]["bot"])


class MissingScope(SlackError):
    """Slack's `missing_scope`: the token lacks every scope the method accepts (`needed`, `provided`)."""

    def __init__(self, needed: str, provided: str) -> None:
        super().__init__("missing_scope", f"the token lacks {needed}")
        self.needed = needed
        self.provided = provided


def check_scope(workspace: SlackWorkspace, method: str) -> None:
    """Refuse a bot-token call as Slack does when the installation was not granted its scope."""
    accepted = ACCEPTED_SCOPES.get(method)
    if accepted and not set(accepted) & workspace.scopes:
        raise MissingScope(accepted[0], ",".join(sorted(workspace.scopes)))


def scope_headers(workspace: SlackWorkspace, method: str) -> dict[str, str]:
    """The headers Slack adds to a Web API answer: the token's scopes and those the method accepts."""
    return {
        "x-oauth-scopes": ",".join(sorted(workspace.scopes)),
        "x-accepted-oauth-scopes": ",".join(ACCEPTED_SCOPES.get(method, ())),
    }


def optional_str(params: dict[str, Any], name: str) -> str | None:
    """A parameter as a string, None when absent (JSON bodies may carry numbers)."""
    value = params.get(name)
    return None if value is None else str(value)


def required_str(params: dict[str, Any], name: str, error: str = "invalid_arguments") -> str:
    """A parameter that must be present and non-empty, else the given Slack error."""
    value = optional_str(params, name)
    if not value:
        raise SlackError(error, f"{name} is required")
    return value


def channel_param(workspace: SlackWorkspace, params: dict[str, Any], name: str = "channel") -> str:
    """The channel id a call names, or channel_not_found."""
    channel = optional_str(params, name)
    resolved = workspace.resolve_channel(channel) if channel else None
    if resolved is None:
        raise SlackError("channel_not_found", f"no channel {channel!r} in this workspace")
    return resolved


def thread_param(workspace: SlackWorkspace, channel: str, thread_ts: str | None) -> str | None:
    """A valid thread_ts, moved to the thread's root when it names a reply (as Slack's client does)."""
    if thread_ts is None:
        return None
    validate_ts(thread_ts)
    parent = workspace.find_message(channel, thread_ts)
    if parent is not None and parent.thread_ts is not None:
        return parent.thread_ts
    return thread_ts


def post_message(
    workspace: SlackWorkspace,
    channel: str,
    text: str | None,
    blocks: list[dict[str, Any]] | None,
    thread_ts: str | None,
    metadata: dict[str, Any] | None = None,
) -> Message:
    """Validate and record a bot message; raise SlackError as Slack would refuse it."""
    validate_message(text, blocks)
    thread_ts = thread_param(workspace, channel, thread_ts)
    message = Message(
        channel, workspace.next_ts(), thread_ts, text or "", blocks or [], workspace.bot_user_id
    )
    message.metadata = metadata
    workspace.posted.append((message.ts, thread_ts, message.text, json.dumps(message.blocks, sort_keys=True)))
    workspace.record(message)
    return message


async def auth_test(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """auth.test: who the bot token belongs to."""
    return {
        "url": f"https://{workspace.team_domain}.slack.com/",
        "team": workspace.team_domain.capitalize(),
        "user": workspace.user_name(workspace.bot_user_id),
        "team_id": workspace.team_id,
        "user_id": workspace.bot_user_id,
        "bot_id": workspace.bot_id,
        "is_enterprise_install": False,
    }


async def chat_post_message(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """chat.postMessage: a message in a channel or, with thread_ts, in a thread."""
    channel = channel_param(workspace, params)
    blocks = parse_blocks(params.get("blocks"))
    # markdown_text is Slack's newer alternative to text; it stands in for the text here.
    text = optional_str(params, "text") or optional_str(params, "markdown_text")
    metadata = metadata_param(params.get("metadata"))
    message = post_message(workspace, channel, text, blocks, optional_str(params, "thread_ts"), metadata)
    return {"channel": channel, "ts": message.ts, "message": message.to_slack(workspace.bot_id)}


def metadata_param(value: object) -> dict[str, Any] | None:
    """Message metadata (a JSON string or object) with an `event_type` and an object `event_payload`."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            raise SlackError("invalid_metadata_format", "metadata is not JSON") from None
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not isinstance(value.get("event_payload"), dict)
    ):
        raise SlackError("invalid_metadata_format", "metadata needs event_type and an event_payload object")
    return {"event_type": value["event_type"], "event_payload": value["event_payload"]}


async def conversations_history(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """conversations.history: a channel's messages, newest first, without thread replies; metadata
    only with include_all_metadata, as Slack does."""
    channel = channel_param(workspace, params)
    limit = int(optional_str(params, "limit") or 100)
    if not 1 <= limit <= 999:
        raise SlackError("invalid_limit", "limit must be between 1 and 999")
    with_metadata = str(params.get("include_all_metadata", "")).lower() in ("true", "1")
    top = [m for m in workspace.messages if m.channel == channel and m.thread_ts in (None, m.ts)]
    newest = list(reversed(top))
    return {
        "messages": [m.to_slack(workspace.bot_id, with_metadata=with_metadata) for m in newest[:limit]],
        "has_more": len(newest) > limit,
    }


async def chat_update(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """chat.update: replace text and/or blocks; omitted blocks are kept, as Slack documents."""
    channel = channel_param(workspace, params)
    ts = required_str(params, "ts", "message_not_found")
    message = workspace.find_message(channel, ts)
    if message is None:
        raise SlackError("message_not_found", f"no message {ts} in {channel}")
    text = optional_str(params, "text")
    blocks = parse_blocks(params.get("blocks"))
    if text is None and blocks is None:
        raise SlackError("no_text", "neither text nor blocks were given")
    new_text = message.text if text is None else text
    new_blocks = message.blocks if blocks is None else blocks
    validate_message(new_text, new_blocks)
    message.text, message.blocks = new_text, new_blocks
    message.updates += 1
    workspace.notify()
    return {"channel": channel, "ts": ts, "text": new_text, "message": message.to_slack(workspace.bot_id)}


async def chat_post_ephemeral(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """chat.postEphemeral: a message only one member of the channel sees."""
    channel = channel_param(workspace, params)
    user = required_str(params, "user", "user_not_in_channel")
    if user not in workspace.users:
        raise SlackError("user_not_in_channel", f"{user} is not a member of {channel}")
    text = optional_str(params, "text")
    blocks = parse_blocks(params.get("blocks"))
    validate_message(text, blocks)
    thread_ts = thread_param(workspace, channel, optional_str(params, "thread_ts"))
    workspace.record(Ephemeral(channel, user, text or "", blocks or [], thread_ts, "chat.postEphemeral"))
    return {"message_ts": workspace.next_ts()}


async def chat_get_permalink(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """chat.getPermalink: a link to a message."""
    channel = channel_param(workspace, params)
    ts = required_str(params, "message_ts", "message_not_found")
    if workspace.find_message(channel, ts) is None:
        raise SlackError("message_not_found", f"no message {ts} in {channel}")
    link = f"https://{workspace.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    return {"channel": channel, "permalink": link}


async def users_info(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """users.info: a member's profile."""
    user_id = required_str(params, "user", "user_not_found")
    user = workspace.users.get(user_id)
    if user is None:
        raise SlackError("user_not_found", f"no user {user_id}")
    profile = {"real_name": user.real_name, "display_name": user.name}
    return {
        "user": {
            "id": user.id,
            "team_id": workspace.team_id,
            "name": user.name,
            "real_name": user.real_name,
            "deleted": False,
            "is_bot": user.is_bot,
            **time_zone(TIMEZONES.get(user.id, "UTC")),
            "profile": profile,
        }
    }


# Slack's long names of the sandbox people's zones: (standard time, summer time)
_LABELS = {
    "Asia/Shanghai": ("China Standard Time", ""),
    "Asia/Kolkata": ("India Standard Time", ""),
    "Europe/Berlin": ("Central European Time", "Central European Summer Time"),
    "America/New_York": ("Eastern Standard Time", "Eastern Daylight Time"),
    "UTC": ("Coordinated Universal Time", ""),
}


def time_zone(name: str, now: datetime | None = None) -> dict[str, Any]:
    """`tz`, `tz_label` and `tz_offset` (seconds east of UTC, as of now) as users.info gives them."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(name))
    summer = bool(local.dst())
    standard, daylight = _LABELS.get(name, (local.tzname() or name, ""))
    offset = local.utcoffset()
    return {
        "tz": name,
        "tz_label": daylight if summer and daylight else standard,
        "tz_offset": int(offset.total_seconds()) if offset is not None else 0,
    }


async def usergroups_list(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """usergroups.list: the groups with their handles (and members when include_users)."""
    include_users = str(params.get("include_users", "")).lower() in ("1", "true")
    groups = []
    for group in workspace.usergroups.values():
        item: dict[str, Any] = {
            "id": group.id,
            "team_id": workspace.team_id,
            "is_usergroup": True,
            "name": group.handle,
            "handle": group.handle,
            "description": "",
            "date_delete": 0,
            "user_count": len(group.user_ids),
        }
        if include_users:
            item["users"] = list(group.user_ids)
        groups.append(item)
    return {"usergroups": groups}


async def usergroups_users_list(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """usergroups.users.list: the members of one group."""
    group_id = required_str(params, "usergroup", "no_such_subteam")
    group = workspace.usergroups.get(group_id)
    if group is None:
        raise SlackError("no_such_subteam", f"no user group {group_id}")
    return {"users": list(group.user_ids)}


async def apps_connections_open(workspace: SlackWorkspace, params: dict[str, Any]) -> dict[str, Any]:
    """apps.connections.open: a one-time WebSocket URL for Socket Mode."""
    return {"url": workspace.socket.issue_url()}


METHODS: dict[str, Handler] = {
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "users.info": users_info,
    "conversations.history": conversations_history,
    "usergroups.list": usergroups_list,
    "usergroups.users.list": usergroups_users_list,
    "apps.connections.open": apps_connections_open,
}
