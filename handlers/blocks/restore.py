"""Block Kit for the restore and the verification: per-package pushes, and what does not pull."""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.model import RunView, StepView
from bot.steps.restore.model import PluginRestore, Verification
from handlers.blocks.run import named, slack_date
from handlers.blocks.tables import (
    Block,
    capped_chunks,
    capped_entries,
    context,
    header,
    inline,
    section,
    truncate,
    wrap,
)

#: code blocks of failures shown; the rest are counted
MAX_CHUNKS = 6


def output_blocks(title: str, lines: Sequence[str]) -> list[Block]:
    """A script's newest output lines (masked by the core) in one code block."""
    chunks, _ = capped_chunks((truncate(line, 300) for line in lines), 1)
    return [section(f"*{inline(title)}* — newest output"), *(section(c) for c in chunks[-1:])]


def plugins_blocks(run: RunView, step: StepView, restore: PluginRestore) -> list[Block]:
    """How many packages were pushed, and each failure with the last lines of its output (masked)."""
    failed = restore.failed
    total = len(restore.pushes)
    if failed:
        verdict = (
            f":x: *{total - len(failed)} of {total}* packages pushed. "
            "Push the failed ones again with `/regclean restore plugins --retry-failed`."
        )
    else:
        verdict = f":white_check_mark: *{total} of {total}* packages pushed."
    blocks: list[Block] = [header(f"Plugin restore — run #{run.id}"), section(verdict)]
    rows = [
        wrap(f"{p.package}: exit {'unknown' if p.exit_status is None else p.exit_status}", rest="  ")
        + wrap(
            truncate(" | ".join(line for line in p.tail[-3:] if line.strip()) or "no output", 300), first="  "
        )
        for p in failed
    ]
    chunks, rest = capped_entries(rows, MAX_CHUNKS)
    blocks.extend(section(c) for c in chunks)
    if rest:
        blocks.append(context(f"…and {rest} more failed packages."))
    blocks.append(context(f"Started by {named(step.requested_by)} at {slack_date(step.started_at)}"))
    return blocks


def plugins_text(restore: PluginRestore) -> str:
    """The notification text."""
    return f"Plugin restore: {len(restore.pushes) - len(restore.failed)} of {len(restore.pushes)} packages pushed"


def verification_blocks(run: RunView, step: StepView, verification: Verification) -> list[Block]:
    """Checked, pullable, missing; every image that does not pull, with its reason."""
    total, failed = len(verification.checks), verification.failed
    scope = {"core": "after the core restore", "all": "of every recorded image", "probes": "of the probes"}
    # a header is plain_text, which Slack shows as it is: not escaped
    title = f"Pull check {scope.get(verification.scope, verification.scope)} — run #{run.id}"
    if failed:
        verdict = f":x: *{total - len(failed)} of {total}* images pull; *{len(failed)}* do not."
    else:
        verdict = f":white_check_mark: All *{total}* images pull (manifests, config and every layer, digests checked)."
    blocks: list[Block] = [header(title), section(verdict)]
    chunks, rest = capped_entries(
        ([*wrap(c.image, rest="  "), *wrap(c.problem, first="  ")] for c in failed), MAX_CHUNKS
    )
    blocks.extend(section(c) for c in chunks)
    if rest:
        blocks.append(context(f"…and {rest} more images that do not pull."))
    blocks.append(context(f"Checked for {named(step.requested_by)} at {slack_date(step.started_at)}"))
    return blocks


def verification_text(verification: Verification) -> str:
    """The notification text."""
    total = len(verification.checks)
    return f"Pull check: {total - len(verification.failed)} of {total} images pull"
