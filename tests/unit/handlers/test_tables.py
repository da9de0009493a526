"""Tables cut to Slack's limits, and the command parser."""

from __future__ import annotations

import pytest

from actions.inventory import Inventory, OperatorRow
from handlers.blocks.inventory import table_messages
from handlers.blocks.tables import MAX_BLOCKS, MAX_SECTION_TEXT, code_chunks, escape
from handlers.commands import ParseError, parse


def test_chunks_fit_a_section_and_keep_every_row_once() -> None:
    lines = ["HEADER"] + [f"row-{i:05d} " + "x" * (i % 200) for i in range(3000)]
    chunks = list(code_chunks(lines[1:], head=lines[0]))
    assert all(len(c) <= MAX_SECTION_TEXT for c in chunks)
    rows = [line for c in chunks for line in c.strip("`").split("\n") if line != "HEADER"]
    assert rows == lines[1:]
    assert all(c.startswith("```HEADER\n") for c in chunks)


def test_a_row_longer_than_a_section_is_cut_not_dropped() -> None:
    chunks = list(code_chunks(["y" * 10_000, "short"], head="H"))
    assert all(len(c) <= MAX_SECTION_TEXT for c in chunks)
    joined = "\n".join(chunks)
    assert "…" in joined and "short" in joined


def test_mrkdwn_control_characters_are_escaped() -> None:
    assert escape("<a & b>") == "&lt;a &amp; b&gt;"


def test_a_large_inventory_is_split_into_messages_within_the_block_limit() -> None:
    inventory = Inventory(
        operators=tuple(
            OperatorRow(
                f"cluster-{i % 40:02d}",
                f"operator-{i:04d}",
                "Installed",
                f"artifact-{i}",
                f"op.v{i}",
                "A" * 60,
            )
            for i in range(1200)
        ),
        plugins=(),
    )
    messages = list(table_messages(inventory))
    assert len(messages) > 1
    for blocks in messages:
        assert len(blocks) <= MAX_BLOCKS
        assert all(len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in blocks if b["type"] == "section")
    text = "".join(b["text"]["text"] for m in messages for b in m)
    assert all(f"operator-{i:04d}" in text for i in range(1200))


@pytest.mark.parametrize(
    ("text", "name"), [("", "help"), ("help", "help"), ("  INVENTORY ", "inventory"), ("status", "status")]
)
def test_known_commands_parse(text: str, name: str) -> None:
    assert parse(text).name == name


@pytest.mark.parametrize(
    ("text", "message"),
    [("purgee", "`purgee` is not a regclean command"), ("inventory now", "`inventory` takes no arguments")],
)
def test_unknown_commands_and_arguments_are_named(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse(text)
