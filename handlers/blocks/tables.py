"""Plain-text tables cut to fit Slack's Block Kit limits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from bot.steps.inventory.render import columns, pad, table_cell

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


LINE = 80
"""Columns a line of a code block may take: about what a phone shows without wrapping it."""
#: the fewest columns a narrow table leaves its last column; with fewer, its rows are key–value lines
MIN_LAST = 20
_KEPT = "/,;|"
"""A value without a space breaks after one of these, which stays at the end of its line."""


def wrap(text: str | None, *, first: str = "", rest: str | None = None, width: int = LINE) -> list[str]:
    """`text` as lines of at most `width` columns (`columns()`): `first` starts the first line and
    `rest` the others (as many spaces as `first` by default). A line breaks at a space, else after a
    `/`, `,`, `;` or `|`, else where it is full; joining the pieces again (with the space) gives the
    text back, so a path, a digest or a name loses nothing. The text is one line first (`table_cell`)."""
    value = table_cell(text)
    rest = " " * columns(first) if rest is None else rest
    lines, prefix = [], first
    while True:
        room = max(width - columns(prefix), MIN_LAST // 2)
        if columns(value) <= room:
            lines.append((prefix + value).rstrip())
            return lines
        fit, used = 0, 0  # the characters that fit the room
        while used + columns(value[fit]) <= room:
            used += columns(value[fit])
            fit += 1
        space = value.rfind(" ", 1, fit + 1)
        kept = max(value.rfind(c, 1, fit) for c in _KEPT)
        if space > 0:
            head, value = value[:space], value[space + 1 :]
        else:
            cut = kept + 1 if kept > 0 else max(fit, 1)
            head, value = value[:cut], value[cut:]
        lines.append((prefix + head).rstrip())
        prefix = rest


def narrow_table(
    header: Sequence[str], rows: Iterable[Sequence[str | None]], *, indent: str = "", width: int = LINE
) -> tuple[str | None, list[list[str]]]:
    """A table within `width` columns: its header line and each row's lines. Columns are aligned as
    a monospace font shows them (`columns()`); the last one wraps under itself (`wrap()`). When the
    other columns leave it fewer than MIN_LAST columns, every row is key–value lines instead (its
    first cell, then `HEADER value` under it) and there is no header line."""
    cells = [[table_cell(c) for c in row] for row in rows]
    widths = [columns(h) for h in header[:-1]]
    for row in cells:
        widths = [max(w, columns(c)) for w, c in zip(widths, row, strict=False)]
    start = columns(indent) + sum(w + 3 for w in widths)
    if width - start >= MIN_LAST:

        def lead(values: Sequence[str]) -> str:
            return indent + "".join(pad(v, w) + "   " for v, w in zip(values, widths, strict=False))

        return (
            (lead(header[:-1]) + header[-1]).rstrip(),
            [wrap(row[-1], first=lead(row[:-1]), rest=" " * start, width=width) for row in cells],
        )
    key = max(columns(h) for h in header[1:])
    return None, [
        wrap(row[0], first=indent, width=width)
        + [
            line
            for name, value in zip(header[1:], row[1:], strict=True)
            for line in wrap(value, first=f"{indent}  {pad(name, key)}  ", width=width)
        ]
        for row in cells
    ]


def key_value(
    key: str, value: str | None, *, indent: str = "", key_width: int = 0, width: int = LINE
) -> list[str]:
    """`key  value`, the key padded to `key_width` columns, on one line when it fits. Else the key,
    and under it the value: whole on its line when it fits one (a digest, a path), else wrapped."""
    key, value = table_cell(key), table_cell(value)
    first = f"{indent}{pad(key, key_width)}  "
    if columns(first) + columns(value) <= width:
        return [first + value]
    head = wrap(key, first=indent, rest=indent + "  ", width=width)
    if columns(indent) + 2 + columns(value) <= width:
        return [*head, f"{indent}  {value}"]
    if width - columns(first) >= MIN_LAST * 2:
        return wrap(value, first=first, width=width)
    return [*head, *wrap(value, first=indent + "  ", width=width)]


def key_values(pairs: Iterable[tuple[str, str | None]], *, indent: str = "") -> list[list[str]]:
    """`key_value()` entries with their keys padded to the widest, so that the values line up."""
    items = [(table_cell(k), v) for k, v in pairs]
    key = max((columns(k) for k, _ in items), default=0)
    return [key_value(k, v, indent=indent, key_width=key) for k, v in items]


def flat_values(key: str, value: Any) -> Iterator[tuple[str, str]]:
    """A JSON value as `(path, scalar)` pairs: `key.field`, `key[0]`; a scalar that is not a string
    (and an empty object or list) in JSON."""
    if isinstance(value, dict) and value:
        for name, item in value.items():
            yield from flat_values(f"{key}.{name}", item)
    elif isinstance(value, list | tuple) and value:
        for index, item in enumerate(value):
            yield from flat_values(f"{key}[{index}]", item)
    else:
        yield key, value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)


def entry_blocks(
    entries: Iterable[Sequence[str]], *, head: str | None = None, budget: int = SECTION_BUDGET
) -> Iterator[tuple[str, int]]:
    """Code blocks of entries (each some lines, such as a row and its wrapped parts) that each fit one
    section, with how many entries end in each; an entry stays in one block unless it is longer than
    a block. `head` starts every block; lines are escaped and kept to one line as in `code_chunks()`."""
    prefix = [escape(table_cell(head))] if head is not None else []
    base = sum(len(x) + 1 for x in prefix)
    current, size, count, produced = list(prefix), base, 0, False
    for entry in entries:
        lines = [truncate(escape(table_cell(x)), budget - base - 8) for x in entry]
        if size + sum(len(x) + 1 for x in lines) > budget and count:
            yield "```" + "\n".join(current) + "```", count
            current, size, count, produced = list(prefix), base, 0, True
        for text in lines:
            if size + len(text) + 1 > budget and len(current) > len(prefix):
                yield "```" + "\n".join(current) + "```", count
                current, size, count, produced = list(prefix), base, 0, True
            current.append(text)
            size += len(text) + 1
        count += 1
    if len(current) > len(prefix) or not produced:
        yield "```" + "\n".join(current) + "```", count


def capped_entries(
    entries: Iterable[Sequence[str]], limit: int, *, head: str | None = None
) -> tuple[list[str], int]:
    """At most `limit` code blocks of `entries` (`entry_blocks()`), and how many entries did not fit."""
    items = [entry for entry in entries if entry]
    if not items:
        return [], 0
    chunks: list[str] = []
    shown = 0
    for chunk, count in entry_blocks(items, head=head):
        if len(chunks) == limit:
            break
        chunks.append(chunk)
        shown += count
    return chunks, len(items) - shown


def and_list(items: Iterable[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    names = list(items)
    if len(names) < 2:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
