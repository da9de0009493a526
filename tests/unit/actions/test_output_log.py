"""actions/output_log.py: a step's whole output in a 0600 file, in 0700 directories, each line labelled."""

from __future__ import annotations

import stat
from pathlib import Path

from actions.output_log import OutputLog, step_output_path


async def test_every_line_is_kept_labelled_and_handed_on(tmp_path: Path) -> None:
    path = step_output_path(str(tmp_path / "data"), 3, "restore_core", 17)
    assert path == tmp_path / "data" / "logs" / "run-3" / "restore_core-17.log"
    shown: list[str] = []

    async def show(line: str) -> None:
        shown.append(line)

    with OutputLog(path) as kept:
        sink = kept.sink("upload.sh all", show)
        for n in range(3):
            await sink(f"line {n}")
        kept.write("upload.sh all", "regclean: exited 0")
    with OutputLog(path) as again:  # a second run of the step's commands appends
        again.write("upload.sh necessary", "more")
    assert shown == ["line 0", "line 1", "line 2"]
    assert path.read_text().splitlines() == [
        "[upload.sh all] line 0",
        "[upload.sh all] line 1",
        "[upload.sh all] line 2",
        "[upload.sh all] regclean: exited 0",
        "[upload.sh necessary] more",
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
