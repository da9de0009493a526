"""The doctor's report as a terminal table: one line per check, then the verdict."""

from __future__ import annotations

from bot.doctor.model import DoctorReport
from bot.steps.inventory.render import align


def doctor_lines(report: DoctorReport) -> list[str]:
    """AREA CHECK STATUS DETAIL REMEDY, aligned, and a last line saying whether every check passed."""
    header = ("AREA", "CHECK", "STATUS", "DETAIL", "REMEDY")
    rows = [(c.area, c.name, c.status if c.ok else "FAIL", c.detail, c.remedy or "") for c in report.checks]
    failed = len(report.failures)
    warned = sum(c.warning for c in report.checks)
    verdict = "every check passed" if report.passed else f"{failed} of {len(report.checks)} checks failed"
    if warned:
        verdict += f" ({warned} with a warning)"
    return [*align(header, rows), "", verdict]
