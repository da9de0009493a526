"""The conversation as a person would read it: who said what, in order, blocks as plain text, with
mentions and dates as Slack shows them to a reader in UTC (sandbox/slack/markup.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from sandbox.slack.markup import render_markup
from sandbox.slack.models import AckReport, Ephemeral, Message, Rejection, UserAction

if TYPE_CHECKING:
    from sandbox.slack.workspace import SlackWorkspace

THREAD_INDENT = "    "

Markup = Callable[[str], str]
"""Renders Slack's markup (mentions, dates) in a message's text."""


def _plain(text: str) -> str:
    return text


def render(workspace: SlackWorkspace) -> str:
    """Every recorded entry in order; thread replies indented, edits shown as the final state."""
    lines: list[str] = []
    bot = workspace.user_name(workspace.bot_user_id)
    markup = partial(
        render_markup, user_name=workspace.user_name, now=workspace.now(), group_handle=workspace.group_handle
    )
    for entry in workspace.timeline:
        where = _where(workspace, entry)
        if isinstance(entry, UserAction):
            verb = "clicked " if entry.kind == "click" else ""
            lines.append(f"@{workspace.user_name(entry.user)}{where}: {verb}{entry.text}")
        elif isinstance(entry, Message):
            lines.extend(_message(workspace, entry, bot, where, markup))
        elif isinstance(entry, Ephemeral):
            indent = THREAD_INDENT if entry.thread_ts else ""
            head = f"{indent}{bot}{where} (only visible to @{workspace.user_name(entry.user)})"
            lines.extend(_speak(head, render_body(entry.text, entry.blocks, markup), indent))
        elif isinstance(entry, AckReport) and not entry.acked:
            lines.append(f"⚠ @{workspace.user_name(entry.user)} saw an error: {entry.detail}")
        elif isinstance(entry, Rejection):
            lines.append(f"⛔ Slack refused {entry.method}: {entry.error} ({entry.detail})")
    return "\n".join(lines)


def _where(workspace: SlackWorkspace, entry: object) -> str:
    channel = getattr(entry, "channel", workspace.channel_id)
    if channel == workspace.channel_id:
        return ""
    name = workspace.channels.get(channel, channel)
    return f" in {name}" if name.startswith("@") else f" in #{name}"


def _message(workspace: SlackWorkspace, message: Message, bot: str, where: str, markup: Markup) -> list[str]:
    reply = message.thread_ts is not None and message.thread_ts != message.ts
    indent = THREAD_INDENT if reply else ""
    head = f"{indent}{'↳ ' if reply else ''}{bot}{where}"
    if message.updates:
        head += f" (edited {message.updates}×)"
    if reply and workspace.find_message(message.channel, message.thread_ts or "") is None:
        head += f" (reply to unknown thread {message.thread_ts}: nobody would see it)"
    # A file shared without a comment is a message with no text: show just the file.
    body = render_body(message.text, message.blocks, markup) if message.text or message.blocks else []
    body += [f"📎 {f.name} ({len(f.content)} bytes)" for f in message.files]
    return _speak(head, body, indent)


def _speak(head: str, body: list[str], indent: str) -> list[str]:
    if len(body) == 1:
        return [f"{head}: {body[0]}"]
    return [f"{head}:"] + [f"{indent}  {line}" for line in body]


def render_body(text: str, blocks: list[dict[str, Any]], markup: Markup = _plain) -> list[str]:
    """Blocks as plain text lines (the text is only the fallback then), else the text."""
    if not blocks:
        return markup(text).splitlines() or [""]
    lines: list[str] = []
    for block in blocks:
        lines.extend(render_block(block, markup))
    return lines


def render_block(block: dict[str, Any], markup: Markup = _plain) -> list[str]:
    """One block as plain text: section text and fields, context, buttons as [Label]."""
    kind = block.get("type")
    if kind in ("header", "markdown"):
        return _text(block.get("text"), markup).splitlines()
    if kind == "section":
        lines = _text(block.get("text"), markup).splitlines()
        lines += [
            f"• {line}" for field in block.get("fields", []) for line in _text(field, markup).splitlines()
        ]
        if "accessory" in block:
            lines.append(_element(block["accessory"], markup))
        return lines
    if kind == "context":
        return [" · ".join(_element(e, markup) for e in block.get("elements", []))]
    if kind == "actions":
        return [" ".join(_element(e, markup) for e in block.get("elements", []))]
    if kind == "divider":
        return ["───"]
    if kind == "rich_text":
        return _rich_text(block).splitlines()
    if kind == "image":
        return [f"[image: {block.get('alt_text', '')}]"]
    return [f"[{kind} block]"]


def _text(obj: Any, markup: Markup = _plain) -> str:
    if isinstance(obj, dict):
        text = str(obj.get("text", ""))
        # Slack renders mrkdwn's markup (before its escapes: `&lt;@U1&gt;` is text), and shows its
        # escaped control characters as the characters themselves.
        if obj.get("type") == "mrkdwn":
            text = markup(text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
        return text
    return "" if obj is None else str(obj)


def _element(element: dict[str, Any], markup: Markup = _plain) -> str:
    kind = element.get("type")
    if kind in ("plain_text", "mrkdwn"):
        return _text(element, markup)
    if kind == "button":
        return f"[{_text(element.get('text'))}]"
    if kind == "image":
        return f"[image: {element.get('alt_text', '')}]"
    return f"[{kind}]"


def _rich_text(node: Any) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return str(node.get("text", ""))
        return "".join(_rich_text(child) for child in node.get("elements", []))
    return ""
