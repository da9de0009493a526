"""Block Kit for the final report that closes a run."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from bot.core.durations import format_duration
from bot.core.model import RunView
from bot.core.wording import counted
from bot.steps.close.report import FinalReport, StepTime
from handlers.blocks.backup import size
from handlers.blocks.custom_images import custom_report_blocks
from handlers.blocks.run import named, who
from handlers.blocks.tables import Block, context, header, inline, section, truncate

#: names shown in a list before the rest is counted
SHOWN = 12


def report_blocks(run: RunView, report: FinalReport) -> list[Block]:
    """The verdict, the bucket, who approved, each step's time, the comparisons, and what is left to do."""
    return [
        header(f"Final report — run #{run.id}"),
        section(_verdict(report)),
        section(_bucket(report)),
        section(_people(report)),
        section(truncate("*Steps*\n" + "\n".join(_steps(report)), 3000)),
        section(truncate(_inventory(report), 3000)),
        section(truncate(_catalog(report), 3000)),
        section(_checks(report)),
        *custom_report_blocks(report),
        section(truncate(_todo(report), 3000)),
        context(
            f"Closed by {named(report.closed_by)}. The report is stored with the run. Thank you, "
            + ", ".join(who(p) for p in report.participants)
            + "."
        ),
    ]


def report_text(report: FinalReport) -> str:
    """The notification text."""
    return f"Run #{report.run_id} {report.state}: {counted(len(report.left_to_do), 'thing')} left to do"


def _verdict(report: FinalReport) -> str:
    if report.succeeded:
        return (
            f":white_check_mark: *Run #{report.run_id} succeeded*: every recorded image pulls, and nothing "
            "that workloads use is missing."
        )
    if report.state == "abandoned":
        return f":heavy_minus_sign: *Run #{report.run_id} was closed without a purge*: nothing was deleted."
    why = []
    if report.catalog.missing:
        why.append(f"{len(report.catalog.missing)} images that workloads use are not back")
    if report.verified_scope != "all" or report.images_pullable < report.images_checked:
        why.append("the pull check of every recorded image has not passed")
    return f":x: *Run #{report.run_id} failed*: " + "; ".join(why or ["see what is left to do"]) + "."


def _bucket(report: FinalReport) -> str:
    b = report.bucket
    objects = f" (objects {_n(b.objects_before)} → {_n(b.objects_after)})"
    if b.reclaimed is None:
        outcome = "reclaimed: unknown"
    elif b.reclaimed >= 0:
        outcome = f"*reclaimed {size(b.reclaimed)}*"
    else:
        outcome = f":warning: *the bucket grew by {size(-b.reclaimed)}*"
    return (
        f"*Bucket* `{inline(b.name)}`: {size(b.bytes_before)} before the purge → {size(b.bytes_after)} now"
        f"{objects}; {outcome}. Objects removed by the purge: {_n(report.objects_removed)}."
    )


def _people(report: FinalReport) -> str:
    approvers = ", ".join(named(a) for a in report.approvers) or "nobody (no purge in this run)"
    asked = named(report.requester) if report.requester else "nobody"
    return f"*Purge requested by* {asked} · *approved by* {approvers}"


def _steps(report: FinalReport) -> list[str]:
    lines = []
    for s in report.steps:
        if s.attempts == 0:
            lines.append(f"• {s.title}: not run")
            continue
        lines.append(f"• {s.title}: {ran(s)}")
    return lines


def ran(step: StepTime) -> str:
    """How a step went: its outcome and time, and, when it ran more than once, what each run did, so
    that an inventory recorded again reads as that, not as a retry."""
    took = format_duration(timedelta(seconds=round(step.seconds)))
    if step.attempts == 1:
        return f"{step.state}, {took}"
    if step.outcomes and set(step.outcomes) == {step.state}:
        return f"{step.state} each of the {step.attempts} times it ran, {took} in all"
    if not step.outcomes:  # a report stored before each run's outcome was kept
        return f"{step.state} the last of the {step.attempts} times it ran, {took} in all"
    earlier = Counter(step.outcomes[:-1])
    runs = counted(step.attempts - 1, "earlier run")
    if len(earlier) == 1:
        return f"{step.state}, {took} in all, after {runs} that {next(iter(earlier))}"
    each = ", ".join(f"{n} {state}" for state, n in sorted(earlier.items()))
    return f"{step.state}, {took} in all, after {runs} ({each})"


def _inventory(report: FinalReport) -> str:
    i = report.inventory
    since = f"snapshot #{i.snapshot_before}" if i.snapshot_before else "no earlier snapshot"
    head = (
        f"*Inventory* (#{i.snapshot_after} against {since}): operators {i.operators_before:,} → "
        f"{i.operators_after:,}, plugins {i.plugins_before:,} → {i.plugins_after:,}."
    )
    if not i.problems:
        return (
            head + " Every operator is still Installed with the same CSV; every plugin at the same versions."
        )
    return head + f" *{len(i.problems)} differ:*\n" + _listing(i.problems)


def _catalog(report: FinalReport) -> str:
    c = report.catalog
    head = (
        f"*Registry*: {c.repositories_before:,} repositories with {c.tags_before:,} tags before the purge → "
        f"{c.repositories_after:,} with {c.tags_after:,} now. *{len(c.back):,}* tags back, "
        f"*{len(c.gone):,}* old tags gone, {len(c.new):,} new."
    )
    parts = [head]
    if c.missing:
        parts.append(f":x: *Used by workloads and not back ({len(c.missing)}):*\n" + _listing(c.missing))
    else:
        parts.append("Every image that workloads use is back.")
    if c.gone:
        parts.append("Gone: " + _inline(c.gone))
    return "\n".join(parts)


def _checks(report: FinalReport) -> str:
    scope = (
        "every recorded image" if report.verified_scope == "all" else (report.verified_scope or "none yet")
    )
    return (
        f"*Pull check* ({scope}): {report.images_pullable:,} of {report.images_checked:,} images pull. "
        f"*Packages*: {report.packages_pushed:,} of {report.packages_total:,} pushed."
    )


def _todo(report: FinalReport) -> str:
    if not report.left_to_do:
        return "*Left to do*: nothing."
    return "*Left to do*\n" + "\n".join(f"• {inline(item)}" for item in report.left_to_do)


def _listing(items: Sequence[str]) -> str:
    shown = "\n".join(f"• `{inline(i)}`" for i in items[:SHOWN])
    rest = len(items) - SHOWN
    return shown + (f"\n…and {rest} more" if rest > 0 else "")


def _inline(items: Sequence[str]) -> str:
    shown = ", ".join(f"`{inline(i)}`" for i in items[:SHOWN])
    rest = len(items) - SHOWN
    return shown + (f" …and {rest} more" if rest > 0 else "")


def _n(value: int | None) -> str:
    return "unknown" if value is None else f"{value:,}"
