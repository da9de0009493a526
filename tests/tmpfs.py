"""The suite's temporary files in memory, when the machine has a tmpfs to spare. Loaded by tests/conftest.py.

A run creates and deletes a few hundred thousand short-lived files: each sandbox's three MinIO
drives (about 4,000 files and 36 MB), their backups, SQLite databases, exports, the stand-ins'
scratch directories. On the ext4 disks of the machines here that is kernel time, and more of it
the more earlier runs left behind: filling one sandbox's three drives costs 0.35–1.3 CPU-s on the
disk and 0.09 s on a tmpfs, and the whole suite took 5m25s to 5m52s with /tmp holding pytest's
last three runs, against 4m47s with /tmp empty and 4m37s to 4m53s on a tmpfs (docs/architecture.md,
"The test suite's time"). On a tmpfs the suite no longer depends on the state of the disk.

So when `/dev/shm` is a tmpfs with `MIN_FREE` bytes free, each run makes its own directory there
and makes it `TMPDIR` for itself, its xdist workers and everything they start (servers, skopeo,
the stand-ins); pytest's `tmp_path` directories go under it too. A test's directory is removed as
the test passes (`tmp_path_retention_policy = "failed"` in pyproject.toml), the run's directory at
the end of a run that passed. A failed run keeps it, for its failed tests' files, until the next
run starts and removes the directories of runs whose process is gone. `--basetemp`, or `TMPDIR`
already pointing at a tmpfs, leaves everything where it is told.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

SHM = Path("/dev/shm")
PREFIX = "rct"
"""`/dev/shm/rct<pid>`: short, because the demo's transcript shows paths under it and keeps its
lines within 80 columns."""
MARK = ".regclean-tests"
"""A file in the run's directory, so that only such directories are ever removed as abandoned."""
MIN_FREE = 2 * 2**30
"""Room a run needs, with margin: about 100 MB at a time here, as passed tests' files go."""

_RUN_DIR = pytest.StashKey[Path]()
_TMPDIR_BEFORE = pytest.StashKey[str | None]()
_PASSED = pytest.StashKey[bool]()


def _tmpfs_mounts() -> set[str]:
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return set()
    return {
        fields[1] for fields in (line.split() for line in lines) if len(fields) > 2 and fields[2] == "tmpfs"
    }


def _free(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def _remove_abandoned() -> None:
    """Directories of earlier runs whose process is gone (a failed run keeps its own)."""
    for entry in SHM.glob(PREFIX + "*"):
        pid = entry.name.removeprefix(PREFIX)
        if pid.isdigit() and (entry / MARK).is_file() and not Path("/proc", pid).exists():
            shutil.rmtree(entry, ignore_errors=True)


def moves(temp_dir: str) -> bool:
    """Whether a run whose temporary directory is `temp_dir` moves to `/dev/shm`: only when that is
    a writable tmpfs with room, and `temp_dir` is not a tmpfs already."""
    mounts = _tmpfs_mounts()
    if os.path.realpath(temp_dir) in mounts or str(SHM) not in mounts:
        return False
    return os.access(SHM, os.W_OK) and _free(SHM) >= MIN_FREE


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput") or config.option.basetemp:
        return  # a worker inherits TMPDIR and gets its basetemp from the controller
    if not moves(tempfile.gettempdir()):
        return
    _remove_abandoned()
    run_dir = SHM / f"{PREFIX}{os.getpid()}"
    try:
        run_dir.mkdir(mode=0o700)
    except FileExistsError:
        return  # not ours: an earlier run's with our pid is gone already, so someone else's
    (run_dir / MARK).touch()
    run_dir.chmod(0o1777)  # like /tmp: PostgreSQL's initdb runs as its own user
    config.stash[_TMPDIR_BEFORE] = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(run_dir)
    tempfile.tempdir = str(run_dir)
    config.stash[_RUN_DIR] = run_dir


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    session.config.stash[_PASSED] = exitstatus == 0


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    run_dir = config.stash.get(_RUN_DIR, None)
    if run_dir is not None and not config.stash.get(_PASSED, False):
        terminalreporter.write_line(f"temporary files (failed tests' tmp_path) kept in {run_dir}")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    run_dir = config.stash.get(_RUN_DIR, None)
    if run_dir is None:
        return
    before = config.stash.get(_TMPDIR_BEFORE, None)
    if before is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = before
    tempfile.tempdir = None
    if config.stash.get(_PASSED, False):
        shutil.rmtree(run_dir, ignore_errors=True)
