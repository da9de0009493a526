"""What the cluster wrote stays text in Slack: escaped, on its own line, inside its code block
(docs/architecture.md, "Cluster strings in Slack")."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.model import Notice, Said
from handlers.blocks.restore import output_blocks
from handlers.blocks.run import said_text
from handlers.blocks.schedule import notice_text
from handlers.blocks.tables import capped_chunks, code_chunks, inline
from sandbox.hostile import FORGED, STRAY_KEY, forged_lines, hostile, leaks


def test_an_inline_value_is_escaped_and_kept_on_its_line() -> None:
    value = inline(hostile("name"))
    assert not leaks(value) and "\n" not in value and "```" not in value
    assert value.startswith("name&lt;!channel&gt;&lt;!here&gt;&lt;@U0HOSTILE&gt;")
    assert "&amp;amp;&amp;" in value, "an entity the cluster wrote is shown as written"


def test_a_line_of_a_code_block_cannot_close_it() -> None:
    [block] = code_chunks(["ok", hostile("bad")], head="HEAD")
    assert block.startswith("```HEAD\nok\nbad") and block.endswith("```")
    assert block.count("```") == 2 and not forged_lines(block) and not leaks(block)
    chunks, rest = capped_chunks([hostile("a"), "b"], 1)
    assert rest == 0 and not any(forged_lines(c) for c in chunks)


def test_a_notice_is_escaped_but_keeps_its_mentions_and_times() -> None:
    moment = datetime(2026, 12, 4, 2, 0, tzinfo=UTC)
    text = notice_text(Notice(f"waived it at {{0}}: {hostile('ns/pod')}", (moment,), ("UBOB",)))
    assert text.startswith("<@UBOB> waived it at <!date^")
    assert not leaks(text) and FORGED in text and not forged_lines(text)


def test_an_answer_names_its_people_and_escapes_its_words() -> None:
    text = said_text(Said(f"{hostile('team/app:1', path_safe=True)} was already waived by {{0}}.", ("UBOB",)))
    assert text.endswith(" was already waived by <@UBOB>.") and not leaks(text)


def test_tool_output_stays_inside_its_code_block() -> None:
    lines = [
        "[1/3] pushing acp/core:latest ...",
        f"Push package {hostile('Hostile package')} succeeded",  # violet prints the package's Name
        f"Removed `minio/registry/{STRAY_KEY}`.",  # mc rm names each object
    ]
    blocks = output_blocks(f"violet push {hostile('x.tgz', path_safe=True)}", lines)
    texts = [b["text"]["text"] for b in blocks]
    assert (
        texts[0].startswith("*violet push x.tgz&lt;!channel&gt;")
        and "Push package Hostile package" in texts[1]
    )
    assert not any(leaks(t) or forged_lines(t) for t in texts)
