"""The payloads Slack sends an app: slash commands and block_actions."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from sandbox.slack.models import Message

if TYPE_CHECKING:
    from sandbox.slack.workspace import SlackWorkspace

# Deprecated by Slack but still sent in every payload; Bolt ignores it.
VERIFICATION_TOKEN = "sandbox-verification-token"


def trigger_id() -> str:
    """A trigger_id in Slack's shape (it opens modals; the sandbox does not check it)."""
    return f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"


def slash_command(
    workspace: SlackWorkspace, user_id: str, command: str, text: str, channel_id: str, response_url: str
) -> dict[str, str]:
    """The form fields of a slash command, every value a string as Slack sends them."""
    return {
        "token": VERIFICATION_TOKEN,
        "team_id": workspace.team_id,
        "team_domain": workspace.team_domain,
        "channel_id": channel_id,
        "channel_name": workspace.channels.get(channel_id, channel_id),
        "user_id": user_id,
        "user_name": workspace.user_name(user_id),
        "command": command,
        "text": text,
        "api_app_id": workspace.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id(),
    }


def find_button(message: Message, action_id: str, block_id: str | None) -> tuple[str, dict[str, Any]] | None:
    """The (block_id, element) of the button with action_id in message, if it is there."""
    for block in message.blocks:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        elements = list(block.get("elements", [])) if block.get("type") == "actions" else []
        if "accessory" in block:
            elements.append(block["accessory"])
        for element in elements:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(block.get("block_id", "")), element
    return None


def block_actions(
    workspace: SlackWorkspace,
    *,
    user_id: str,
    channel_id: str,
    action: dict[str, Any],
    message: Message | None,
    message_ts: str,
    response_url: str,
) -> dict[str, Any]:
    """A block_actions payload for one button click."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel_id,
        "is_ephemeral": False,
    }
    if message is not None and message.thread_ts is not None:
        container["thread_ts"] = message.thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": workspace.user_name(user_id),
            "name": workspace.user_name(user_id),
            "team_id": workspace.team_id,
        },
        "api_app_id": workspace.app_id,
        "token": VERIFICATION_TOKEN,
        "container": container,
        "trigger_id": trigger_id(),
        "team": {"id": workspace.team_id, "domain": workspace.team_domain},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": workspace.channels.get(channel_id, channel_id)},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [action],
    }
    if message is not None:
        payload["message"] = message.to_slack(workspace.bot_id)
    return payload
