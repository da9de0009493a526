"""A step's whole command output, kept on the bot's host: every (already masked) line, in one file.

Slack shows only the last lines of `upload.sh` and `violet push`; the file keeps all of them, each
prefixed with the command it came from, for whoever reads the night afterwards. The file is 0600
in a 0700 directory, as the bot's other files (docs/architecture.md, "Logs and metrics").
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType

LineSink = Callable[[str], Awaitable[None]]


class OutputLog:
    """Appends lines to `path`, creating its directory (0700) and the file (0600) as needed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.parent.mkdir(parents=True, exist_ok=True)
        for directory in (path.parent.parent, path.parent):  # logs/ and run-<id>/
            directory.mkdir(mode=0o700, exist_ok=True)
            os.chmod(directory, 0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW, 0o600)
        os.fchmod(fd, 0o600)
        self._file = os.fdopen(fd, "a", encoding="utf-8", errors="replace")

    def write(self, label: str, line: str) -> None:
        """One line of the command `label` (the line is masked already)."""
        self._file.write(f"[{label}] {line}\n")

    def sink(self, label: str, then: LineSink) -> LineSink:
        """A line sink that keeps each line in the file, then hands it on to `then` (what Slack shows)."""

        async def line(text: str) -> None:
            self.write(label, text)
            await then(text)

        return line

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> OutputLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def step_output_path(data_dir: str, run_id: int, step: str, step_id: int) -> Path:
    """`<data dir>/logs/run-<run>/<step>-<step id>.log` (data dir: REGCLEAN_DATA_DIR)."""
    return Path(data_dir).absolute() / "logs" / f"run-{run_id}" / f"{step}-{step_id}.log"
