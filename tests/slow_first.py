"""The longest tests run first, so that the xdist workers finish together. Loaded by tests/conftest.py.

pytest-xdist hands each worker the next test in collection order as it frees up (`--dist load
--maxschedchunk 1` in pyproject.toml). Started last, a whole-runbook test of a minute keeps one
core busy while the other has nothing left; started first, the many short tests fill in beside it
(longest processing time first). The order is: the tests below, longest first (their CPU on the
2-core machines here, `pytest --cpu-report`: the demo about 80 s, a whole runbook 45–65 s); then the rest of the
e2e, scenario, integration and sandbox tests, which start servers; then the unit tests. Within each
group the collection's own order stays, so a module's tests keep sharing what they set up.
"""

from __future__ import annotations

import pytest

SLOWEST = (
    "tests/scenarios/test_demo.py::test_the_demo_runs_the_whole_runbook",
    "tests/e2e/test_restart.py::test_killed_during_every_step",
    "tests/e2e/test_versioned_bucket.py::",
    "tests/scenarios/test_cli_story.py::",
    "tests/e2e/test_registry_cache.py::test_the_runbook_clears_the_cache",
    "tests/integration/test_doctor.py::test_doctor_passes_names_each_fault",
    "tests/scenarios/test_restore.py::test_upload_failing_half_way",
    "tests/scenarios/test_hostile_strings.py::test_hostile_cluster_strings",
    "tests/e2e/test_rollback.py::",
    "tests/scenarios/test_purge_failures.py::test_with_minio_0_not_ready",
    "tests/e2e/test_restart.py::test_sigterm",
    "tests/scenarios/test_schedule.py::test_a_purge_scheduled_at_the_window_start",
    "tests/scenarios/test_purge.py::",
    "tests/scenarios/test_purge_failures.py::",
)
"""Node-id prefixes of the longest tests, longest first."""
GROUPS = ("tests/e2e/", "tests/scenarios/", "tests/integration/", "tests/sandbox/")
"""Directories whose tests start servers, before everything else."""


def rank(nodeid: str) -> tuple[int, int]:
    """Where a test goes: its place among `SLOWEST`, then its group's (unit tests last)."""
    slow = next((i for i, prefix in enumerate(SLOWEST) if nodeid.startswith(prefix)), len(SLOWEST))
    group = next((i for i, prefix in enumerate(GROUPS) if nodeid.startswith(prefix)), len(GROUPS))
    return slow, group


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Sort the collection (stably): the longest tests first, the unit tests last."""
    items.sort(key=lambda item: rank(item.nodeid))
