"""Plain-text tables cut to fit Slack's Block Kit limits (design §6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
#: room for the code fences and a safety margin inside one section
SECTION_BUDGET = MAX_SECTION_TEXT - 100
#: sections per thread message; keeps each message readable, and far under MAX_BLOCKS
SECTIONS_PER_MESSAGE = 8

Block = dict[str, Any]


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int) -> str:
    """Cut a text to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code_chunks(
    lines: Sequence[str], *, repeat_first: bool = True, budget: int = SECTION_BUDGET
) -> list[str]:
    """Pack lines into code blocks that each fit one section; the header line repeats in each."""
    head = lines[0] if repeat_first and lines else None
    body = lines[1:] if head is not None else list(lines)
    chunks: list[str] = []
    current: list[str] = [escape(head)] if head is not None else []
    size = sum(len(x) + 1 for x in current)
    for raw in body:
        text = truncate(escape(raw), budget - (len(current[0]) + 1 if head is not None else 0) - 8)
        if size + len(text) + 1 > budget and len(current) > (1 if head is not None else 0):
            chunks.append("```" + "\n".join(current) + "```")
            current = [escape(head)] if head is not None else []
            size = sum(len(x) + 1 for x in current)
        current.append(text)
        size += len(text) + 1
    if len(current) > (1 if head is not None else 0) or not chunks:
        chunks.append("```" + "\n".join(current) + "```")
    return chunks


def section(text: str) -> Block:
    """A mrkdwn section (the caller keeps `text` within the limit)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}}


def context(text: str) -> Block:
    """A context line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}]}


def header(text: str) -> Block:
    """A header block (plain text, at most 150 characters)."""
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, 150), "emoji": True}}


def paginate(title: str, chunks: Sequence[str]) -> list[list[Block]]:
    """Messages of at most SECTIONS_PER_MESSAGE code sections, each titled `title (k/n)`."""
    pages = [chunks[i : i + SECTIONS_PER_MESSAGE] for i in range(0, len(chunks), SECTIONS_PER_MESSAGE)]
    messages = []
    for number, page in enumerate(pages, start=1):
        suffix = f" ({number}/{len(pages)})" if len(pages) > 1 else ""
        messages.append([section(f"*{escape(title)}*{suffix}"), *(section(c) for c in page)])
    return messages
