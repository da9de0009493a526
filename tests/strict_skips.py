"""With CI=true a skipped test fails the run: CI installs every tool, so a skip there hides a test
that never ran. Loaded by tests/conftest.py; works under pytest-xdist, where the controller sees
every worker's reports."""

from __future__ import annotations

import os

import pytest


def strict(config: pytest.Config) -> bool:
    """Whether this process judges skips: CI=true, and the controller rather than an xdist worker."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1"} and not hasattr(config, "workerinput")


def skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    """The reason a skip report gives, without pytest's "Skipped: " prefix."""
    longrepr = report.longrepr
    # (path, line, reason) for a skip; a list once xdist has sent the report over from a worker
    reason = str(longrepr[2]) if isinstance(longrepr, tuple | list) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


class StrictSkips:
    """Collects skips as they are reported; fails the session and names them at its end."""

    def __init__(self) -> None:
        self.skipped: dict[str, str] = {}

    def note(self, report: pytest.CollectReport | pytest.TestReport) -> None:
        """Remember a skip (an expected failure reports as skipped too: it is not one)."""
        if report.skipped and not hasattr(report, "wasxfail"):
            self.skipped.setdefault(report.nodeid, skip_reason(report))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A test skipped by a mark or by pytest.skip()."""
        self.note(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """A whole module skipped while collected (pytest.importorskip, allow_module_level)."""
        self.note(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Turn a passing run with skips into a failed one."""
        if self.skipped and exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """Name every skipped test and its reason."""
        if not self.skipped:
            return
        terminalreporter.section("skipped tests fail the run under CI=true", sep="=", red=True, bold=True)
        for nodeid, reason in self.skipped.items():
            terminalreporter.write_line(f"SKIPPED (not allowed under CI=true) {nodeid} - {reason}")


def pytest_configure(config: pytest.Config) -> None:
    """Register the collector, only where skips are judged."""
    if strict(config):
        config.pluginmanager.register(StrictSkips(), "strict_skips_collector")
