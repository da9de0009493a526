"""`/regclean doctor`: the table of checks, one section per area, failures with what to do."""

from __future__ import annotations

from itertools import groupby

from bot.doctor.model import Check, DoctorReport
from handlers.blocks.tables import Block, header, inline, section, truncate

SECTION_LIMIT = 2900
"""Slack refuses a section text over 3000 characters."""


def doctor_text(report: DoctorReport) -> str:
    """The notification text: the verdict."""
    if report.passed:
        return f"regclean doctor: all {len(report.checks)} checks passed"
    return f"regclean doctor: {len(report.failures)} of {len(report.checks)} checks failed"


def doctor_blocks(report: DoctorReport) -> list[Block]:
    """A header with the verdict, then each area's checks (✅ passed, ❌ failed with its remedy)."""
    icon = ":white_check_mark:" if report.passed else ":x:"
    blocks = [header(doctor_text(report)), section(f"{icon} {inline(_summary(report))}")]
    for area, checks in groupby(report.checks, key=lambda c: c.area):
        lines = [_line(c) for c in checks]
        blocks.append(section(truncate(f"*{inline(area)}*\n" + "\n".join(lines), SECTION_LIMIT)))
    return blocks


def _summary(report: DoctorReport) -> str:
    if report.passed:
        return "Everything the night needs after the purge answered. Nothing was changed."
    return "Fix what failed before the night, then run `/regclean doctor` again. Nothing was changed."


def _line(check: Check) -> str:
    if check.warning:
        return f":warning: {inline(check.name)}: {inline(check.detail)}\n    → {inline(check.remedy)}"
    if check.ok:
        return f":white_check_mark: {inline(check.name)}: {inline(check.detail)}"
    return f":x: *{inline(check.name)}*: {inline(check.detail)}\n    → {inline(check.remedy)}"
