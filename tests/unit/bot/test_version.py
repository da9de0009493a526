"""`regclean --version`: the package's version and the commit, baked into the image or read from git."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from bot import version as versions
from bot.version import COMMIT_ENV, checkout_commit

ROOT = Path(__file__).resolve().parents[3]


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t"}
    env["GIT_COMMITTER_EMAIL"] = "t@t"
    done = subprocess.run(["git", "-C", str(cwd), *args], capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A git checkout with one commit, laid out as this repository (bot/ at its top)."""
    root = tmp_path / "checkout"
    (root / "bot").mkdir(parents=True)
    (root / "bot" / "__init__.py").write_text("")
    git(root, "init", "--quiet")
    git(root, "add", ".")
    git(root, "commit", "--quiet", "-m", "one")
    return root


def regclean_version(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k != COMMIT_ENV}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "--version"],
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_baked_in_commit_is_printed_with_the_version() -> None:
    done = regclean_version({COMMIT_ENV: "0123456789abcdef0123456789abcdef01234567"})
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout == f"regclean {version('regclean')} (commit 0123456789abcdef0123456789abcdef01234567)\n"
    )


def test_from_a_checkout_the_commit_is_what_git_says() -> None:
    done = regclean_version({})
    assert done.returncode == 0, done.stderr
    head = git(ROOT, "rev-parse", "HEAD")
    assert done.stdout.startswith(f"regclean {version('regclean')} (commit {head}")


def test_a_clean_checkout_gives_its_commit_and_a_changed_one_says_dirty(checkout: Path) -> None:
    head = git(checkout, "rev-parse", "HEAD")
    assert checkout_commit(checkout) == head
    (checkout / "bot" / "__init__.py").write_text("changed = True\n")
    assert checkout_commit(checkout) == f"{head}-dirty"
    (checkout / "bot" / "untracked.py").write_text("")
    git(checkout, "checkout", "--quiet", "--", "bot/__init__.py")
    assert checkout_commit(checkout) == head, "an untracked file is not in the image's wheel either"


def test_a_package_inside_someone_elses_checkout_does_not_take_its_commit(checkout: Path) -> None:
    nested = checkout / "venv" / "site-packages"
    nested.mkdir(parents=True)
    assert checkout_commit(nested) is None
    assert checkout_commit(checkout.parent) is None, "not a checkout at all"


def test_without_git_or_a_checkout_the_commit_is_unknown(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(COMMIT_ENV, raising=False)
    monkeypatch.setattr("bot.version.shutil.which", lambda name: None)
    assert versions.commit() == "unknown"
    monkeypatch.undo()
    monkeypatch.delenv(COMMIT_ENV, raising=False)
    monkeypatch.setattr(versions, "_ROOT", tmp_path)
    assert versions.commit() == "unknown"
