"""`pytest --cpu-report FILE`: the CPU seconds each test cost, its servers and tools included.

The suite's wall time on two cores is bounded by the CPU it uses, so the tests worth making cheaper
are the ones that use the most. Each test's cost is the CPU of this process and of every process
under it (moto, the registry, skopeo, the vendor stand-ins), alive or already reaped, read from
/proc before and after the test. Each xdist worker appends its own lines to FILE: CPU seconds, wall
seconds and the test's node id, tab-separated. A session-wide server's start is counted in the test
that first needed it. Linux only; without /proc nothing is measured.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--cpu-report", metavar="FILE", default=None, help="append each test's CPU seconds to FILE"
    )


def _descendants_cpu(root: int) -> float:
    """CPU seconds of the live processes under `root` and of what they reaped."""
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(f) for f in fields[11:15]) / _TICKS  # utime stime cutime cstime
    total = 0.0
    for pid in times:
        ancestor = parents.get(pid)
        while ancestor is not None and ancestor not in (0, 1):
            if ancestor == root:
                total += times[pid]
                break
            ancestor = parents.get(ancestor)
    return total


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime + _descendants_cpu(os.getpid())


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    report = item.config.getoption("--cpu-report")
    if not report or not Path("/proc/self/stat").exists():
        yield
        return
    cpu, wall = _cpu(), time.monotonic()
    yield
    spent, took = _cpu() - cpu, time.monotonic() - wall
    with open(report, "a") as out:
        out.write(f"{spent:.2f}\t{took:.2f}\t{item.nodeid}\n")
