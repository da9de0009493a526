"""Plain-text tables cut to fit Slack's Block Kit limits."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bot.steps.inventory.render import table_cell

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


def inline(text: str) -> str:
    """A value for the middle of a mrkdwn line (or an inline code span): escaped, and kept to that
    line without a code fence (`table_cell`), so that it cannot start a line of its own."""
    return escape(table_cell(text))


def truncate(text: str, limit: int) -> str:
    """Cut a text to `limit` characters, marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def code_chunks(
    lines: Iterable[str], *, head: str | None = None, budget: int = SECTION_BUDGET
) -> Iterator[str]:
    """Pack lines into code blocks that each fit one section, lazily; `head` starts every block.
    Each line is escaped and kept to one line without a fence (`table_cell`): what the cluster
    wrote cannot end the block and read as the bot's own words."""
    prefix = [escape(table_cell(head))] if head is not None else []
    base = sum(len(x) + 1 for x in prefix)
    current, size, produced = list(prefix), base, False
    for raw in lines:
        text = truncate(escape(table_cell(raw)), budget - base - 8)
        if size + len(text) + 1 > budget and len(current) > len(prefix):
            yield "```" + "\n".join(current) + "```"
            current, size, produced = list(prefix), base, True
        current.append(text)
        size += len(text) + 1
    if len(current) > len(prefix) or not produced:
        yield "```" + "\n".join(current) + "```"


def section(text: str) -> Block:
    """A mrkdwn section (the caller keeps `text` within the limit)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}}


def context(text: str) -> Block:
    """A context line."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(text, MAX_SECTION_TEXT)}]}


def header(text: str) -> Block:
    """A header block (plain text, at most 150 characters)."""
    return {"type": "header", "text": {"type": "plain_text", "text": truncate(text, 150), "emoji": True}}


def paginate(title: str, chunks: Iterable[str]) -> Iterator[list[Block]]:
    """Messages of at most SECTIONS_PER_MESSAGE sections, rendered one at a time as they are asked for."""
    page: list[str] = []
    number = 0

    def message() -> list[Block]:
        suffix = f" (part {number})" if number > 1 else ""
        return [section(f"*{inline(title)}*{suffix}"), *(section(c) for c in page)]

    for chunk in chunks:
        page.append(chunk)
        if len(page) == SECTIONS_PER_MESSAGE:
            number += 1
            yield message()
            page = []
    if page or not number:
        number += 1
        yield message()


def capped_chunks(
    lines: Iterable[str], limit: int, *, head: str | None = None, budget: int = SECTION_BUDGET
) -> tuple[list[str], int]:
    """At most `limit` code blocks of `lines`, and how many lines did not fit in them."""
    rows = [line.replace("\n", " ") for line in lines]
    if not rows:
        return [], 0
    chunks: list[str] = []
    shown = 0
    skip = 0 if head is None else 1
    for chunk in code_chunks(rows, head=head, budget=budget):
        if len(chunks) == limit:
            break
        chunks.append(chunk)
        shown += chunk.count("\n") + 1 - skip
    return chunks, max(0, len(rows) - shown)


def and_list(items: Iterable[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    names = list(items)
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
