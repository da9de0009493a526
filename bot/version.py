"""What `regclean --version` prints: the package's version and the git commit the code comes from.

The container image bakes the commit in when it is built (the Containerfile's `COMMIT` build
argument, as `REGCLEAN_COMMIT`; see README "Deploy"). Run from a checkout, the commit is what
`git` says of that checkout, with `-dirty` when tracked files have changed. Anywhere else it is
`unknown`: an installed package is not asked about whatever repository happens to surround it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, NoReturn

COMMIT_ENV = "REGCLEAN_COMMIT"
"""Set by the image to the commit it was built from."""
UNKNOWN = "unknown"
_ROOT = Path(__file__).resolve().parent.parent
"""Where a checkout of this repository has its top level (bot/ is directly under it)."""
_GIT_TIMEOUT = 5.0


def version_line() -> str:
    """`regclean 0.1.0 (commit 6d7d2b3…)`."""
    return f"regclean {package_version()} (commit {commit()})"


def package_version() -> str:
    """The installed distribution's version, or `unknown` when it is not installed (run from the tree)."""
    try:
        return version("regclean")
    except PackageNotFoundError:
        return UNKNOWN


def commit() -> str:
    """The commit baked into the image, else the checkout's, else `unknown`."""
    baked = os.environ.get(COMMIT_ENV, "").strip()
    return baked or checkout_commit() or UNKNOWN


def checkout_commit(root: Path | None = None) -> str | None:
    """The full commit of the checkout `root` (default: this one) is the top of, `-dirty` appended
    when tracked files differ from it; None without git, or when `root` is not the top of a checkout."""
    root = _ROOT if root is None else root
    git = shutil.which("git")
    if git is None:
        return None
    found = _git(git, root, "rev-parse", "--show-toplevel", "HEAD")
    lines = found.splitlines() if found is not None else []
    if len(lines) != 2 or Path(lines[0]).resolve() != root.resolve():
        return None
    changed = _git(git, root, "status", "--porcelain", "--untracked-files=no")
    return f"{lines[1]}-dirty" if changed else lines[1]


def _git(git: str, root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            [git, "-C", str(root), *args],
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


class VersionAction(argparse.Action):
    """`--version`: print `version_line()` and exit 0; git is asked only when the option is given."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.setdefault("help", "print the version and the git commit, then exit")
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> NoReturn:
        print(version_line())
        parser.exit()


if __name__ == "__main__":
    # `make image` names and labels the image with this, so both say the same commit.
    print(checkout_commit() or UNKNOWN)
