"""`regclean` as the image installs it: the sandbox package is left out (Containerfile)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
WITHOUT_SANDBOX = (
    "import sys; sys.modules['sandbox'] = None; from bot.cli import main; sys.exit(main(sys.argv[1:]))"
)


def test_the_demo_without_the_sandbox_says_where_to_run_it_instead_of_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-c", WITHOUT_SANDBOX, "demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert "the demo needs the sandbox" in done.stderr and "make demo" in done.stderr
