"""`/regclean rehearse`: what the night would delete, the tags it would lose with who uses them, how
long each step is expected to take (and from what), and GO or NO-GO with each reason and its remedy."""

from __future__ import annotations

from bot.rehearse.model import Rehearsal
from bot.rehearse.render import purge_line, span
from handlers.blocks.preflight import gate_detail
from handlers.blocks.tables import Block, escape, header, inline, section, truncate

SECTION_LIMIT = 2900
"""Slack refuses a section text over 3000 characters."""


def rehearsal_text(r: Rehearsal) -> str:
    """The notification text: the verdict."""
    if r.go:
        return "regclean rehearse: GO"
    return f"regclean rehearse: NO-GO ({len(r.blockers)} to fix first)"


def rehearsal_blocks(r: Rehearsal) -> list[Block]:
    """A header with the verdict, then the purge, the lost tags, the durations, the night's needs, the blockers."""
    blocks = [
        header(rehearsal_text(r)),
        _section(":wastebasket: *What the purge would delete*\n" + escape(purge_line(r))),
    ]
    blocks.append(_section(_lost(r)))
    blocks.append(_section(_durations(r)))
    if r.on_the_night:
        lines = [
            f"• *{inline(g.title)}*: {gate_detail(g)} → {inline(g.remedy or '')}" for g in r.on_the_night
        ]
        blocks.append(_section(":crescent_moon: *Needed on the night*\n" + "\n".join(lines)))
    blocks.append(_section(_verdict(r)))
    return blocks


def _lost(r: Rehearsal) -> str:
    if not r.lost:
        return ":white_check_mark: *Tags that would not come back*: none, upload.sh or a package restores every tag."
    lines = [
        f"• `{inline(t.tag)}` used by {escape(', '.join(t.workloads)) if t.workloads else 'no workload'}"
        for t in r.lost
    ]
    title = f":warning: *{len(r.lost)} tags would not come back* (no package nor upload.sh pushes them):"
    return title + "\n" + "\n".join(lines)


def _durations(r: Rehearsal) -> str:
    lines = [f"• {inline(d.title)}: {span(d.seconds)} ({inline(d.source)})" for d in r.durations]
    head = (
        f":stopwatch: *Expected durations*, total {span(r.total_seconds)}, from {inline(r.durations_from)}:"
    )
    return head + "\n" + "\n".join(lines)


def _verdict(r: Rehearsal) -> str:
    if r.go:
        return ":white_check_mark: *GO*: every check passed and every gate that can be judged now holds. Nothing was changed."
    lines = [
        f":x: *{inline(b.name)}* ({inline(b.source)}): {inline(b.detail)}\n    → {inline(b.remedy)}"
        for b in r.blockers
    ]
    return "*NO-GO*, fix these first (nothing was changed):\n" + "\n".join(lines)


def _section(text: str) -> Block:
    return section(truncate(text, SECTION_LIMIT))
