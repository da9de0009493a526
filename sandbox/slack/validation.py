"""Refuse what real Slack refuses before a message is recorded.

slack_sdk's models carry most Block Kit limits, but only ``to_dict()`` runs them recursively
(``validate_json()`` checks the block itself, not its buttons), and the parser is lenient
where Slack is not: it drops unknown blocks and elements, turns a bare string into mrkdwn and
ignores a text object's type. The checks below close those gaps.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement

MAX_BLOCKS = 50
MAX_TEXT = 40_000
MAX_FIELD_TEXT = 2_000
TEXT_TYPES = frozenset({"plain_text", "mrkdwn"})
# Slack's ts: seconds, a dot, microseconds. Anything else is ``invalid_thread_ts``.
TS_PATTERN = re.compile(r"^\d{10}\.\d{6}$")


class SlackError(Exception):
    """A call refused the way Slack refuses it: an error code and a readable detail."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


def parse_blocks(raw: Any) -> list[dict[str, Any]] | None:
    """Blocks as sent (JSON string, list or absent) → a list of dicts, or None when absent."""
    if raw is None or raw == "":
        return None
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise SlackError("invalid_blocks_format", f"blocks is not JSON: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(b, dict) for b in value):
        raise SlackError("invalid_blocks_format", "blocks must be a JSON array of objects")
    return value


def validate_message(text: str | None, blocks: list[dict[str, Any]] | None) -> None:
    """Raise SlackError for a message body real Slack would not post."""
    if not text and not blocks:
        raise SlackError("no_text", "neither text nor blocks were given")
    if text is not None and len(text) > MAX_TEXT:
        raise SlackError("msg_too_long", f"text has {len(text)} characters (max {MAX_TEXT})")
    if blocks:
        validate_blocks(blocks)


def validate_ts(value: str, name: str = "thread_ts") -> None:
    """Raise invalid_<name> unless value looks like a Slack ts."""
    if not TS_PATTERN.match(value):
        raise SlackError(f"invalid_{name}", f"{value!r} is not a valid {name}")


def validate_blocks(blocks: list[dict[str, Any]]) -> None:
    """Raise SlackError(invalid_blocks) naming the first block that Slack would refuse."""
    if len(blocks) > MAX_BLOCKS:
        raise SlackError("invalid_blocks", f"{len(blocks)} blocks (no more than {MAX_BLOCKS} allowed)")
    seen_block_ids: set[str] = set()
    for index, raw in enumerate(blocks):
        where = f"[json-pointer:/blocks/{index}]"
        try:
            _check_block(raw)
        except SlackError as exc:
            raise SlackError("invalid_blocks", f"{exc.detail} {where}") from None
        block_id = raw.get("block_id")
        if block_id is not None:
            if block_id in seen_block_ids:
                raise SlackError("invalid_blocks", f"duplicate block_id {block_id!r} {where}")
            seen_block_ids.add(block_id)


def _check_block(raw: dict[str, Any]) -> None:
    """Run slack_sdk's validators, then the checks it lacks."""
    try:
        block = Block.parse(raw)
        if block is None:
            raise SlackError("invalid_blocks", f"unsupported block type {raw.get('type')!r}")
        block.to_dict()  # recursive: validates buttons and text objects too
    except SlackObjectFormationError as exc:
        raise SlackError("invalid_blocks", str(exc)) from None
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise SlackError("invalid_blocks", f"malformed {raw.get('type')!r} block: {exc}") from None
    kind = raw["type"]
    if kind == "section":
        _check_section(raw)
    elif kind == "header":
        _check_text(raw.get("text"), "text", plain_only=True)
    elif kind == "actions":
        _check_elements(raw.get("elements", []))
    elif kind == "context":
        for element in raw.get("elements", []):
            if isinstance(element, dict) and element.get("type") in TEXT_TYPES:
                _check_text(element, "elements[]")
            else:
                _check_elements([element])


def _check_section(raw: dict[str, Any]) -> None:
    if "text" in raw:
        _check_text(raw["text"], "text")
    for field in raw.get("fields", []):
        _check_text(field, "fields[]")
        if len(field["text"]) > MAX_FIELD_TEXT:
            raise SlackError("invalid_blocks", f"a field has {len(field['text'])} characters (max 2000)")
    if "accessory" in raw:
        _check_elements([raw["accessory"]])


def _check_elements(elements: list[Any]) -> None:
    action_ids: set[str] = set()
    for element in elements:
        if not isinstance(element, dict) or BlockElement.parse(element) is None:
            kind = element.get("type") if isinstance(element, dict) else element
            raise SlackError("invalid_blocks", f"unsupported element type {kind!r}")
        if element.get("type") == "button":
            _check_text(element.get("text"), "button text", plain_only=True)
        action_id = element.get("action_id")
        if action_id is not None:
            if action_id in action_ids:
                raise SlackError("invalid_blocks", f"duplicate action_id {action_id!r} in one block")
            action_ids.add(action_id)


def _check_text(obj: Any, name: str, *, plain_only: bool = False) -> None:
    allowed = {"plain_text"} if plain_only else TEXT_TYPES
    if not isinstance(obj, dict) or obj.get("type") not in allowed:
        raise SlackError(
            "invalid_blocks", f"{name} must be a text object of type {' or '.join(sorted(allowed))}"
        )
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        raise SlackError("invalid_blocks", f"{name} must be at least 1 character long")
