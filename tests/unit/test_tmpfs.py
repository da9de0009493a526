"""Where a run keeps its temporary files: in its own directory on /dev/shm when that is a tmpfs with
room, removed when the run passed and kept when it failed (tests/tmpfs.py)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from tests import tmpfs

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
DISK = "/var/tmp"
"""Where the runs below are told to keep their files (TMPDIR); a disk on the machines here."""

PROBE = """
import os
import tempfile

def test_where(tmp_path):
    print(f"TEMP={tempfile.gettempdir()} ENV={os.environ['TMPDIR']} TMP_PATH={tmp_path}")
    assert {passes}
"""


def run(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, *args: str) -> pytest.RunResult:
    """pytest in a subprocess with the plugin and TMPDIR on the disk (not pytester's own runner,
    which passes --basetemp)."""
    monkeypatch.setenv("TMPDIR", DISK)
    monkeypatch.delenv("PYTEST_DEBUG_TEMPROOT", raising=False)  # pytester's: tmp_path would follow it
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    return pytester.run(
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "tests.tmpfs",
        "-p",
        "no:asyncio",
        "-p",
        "no:cacheprovider",
        "-s",
        *args,
    )


def where(result: pytest.RunResult) -> tuple[str, str, str]:
    found = re.search(r"TEMP=(\S+) ENV=(\S+) TMP_PATH=(\S+)", result.stdout.str())
    assert found is not None, result.stdout.str()
    return found.group(1), found.group(2), found.group(3)


def test_a_passing_run_keeps_its_files_on_the_tmpfs_and_leaves_nothing_there(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_probe=PROBE.replace("{passes}", "True"))
    result = run(pytester, monkeypatch)
    assert result.ret == pytest.ExitCode.OK
    temp, env, tmp_path = where(result)
    if not tmpfs.moves(DISK):
        assert (temp, env) == (DISK, DISK), "no tmpfs with room here: the files stay where TMPDIR says"
        return
    assert re.fullmatch(r"/dev/shm/rct\d+", temp) and env == temp, "the run, and what it starts, use it"
    assert Path(tmp_path).is_relative_to(temp)
    assert not Path(temp).exists(), "gone with the passed run"


def test_a_failed_run_keeps_its_directory_and_says_where(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not tmpfs.moves(DISK):
        pytest.skip("no tmpfs with room on /dev/shm here")  # CI has one (it fails a skip)
    pytester.makepyfile(test_probe=PROBE.replace("{passes}", "False"))
    result = run(pytester, monkeypatch)
    temp, _, tmp_path = where(result)
    try:
        assert result.ret == pytest.ExitCode.TESTS_FAILED
        assert Path(tmp_path).is_dir(), "the failed test's files are there to look at"
        result.stdout.fnmatch_lines([f"temporary files (failed tests' tmp_path) kept in {temp}"])
    finally:
        shutil.rmtree(temp, ignore_errors=True)


def test_a_given_basetemp_leaves_everything_where_it_is_told(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(test_probe=PROBE.replace("{passes}", "True"))
    result = run(pytester, monkeypatch, f"--basetemp={pytester.path / 'base'}")
    assert result.ret == pytest.ExitCode.OK
    temp, env, tmp_path = where(result)
    assert (temp, env) == (DISK, DISK) and Path(tmp_path).is_relative_to(pytester.path / "base")
