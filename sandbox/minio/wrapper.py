"""Put the `mc` stand-in on a PATH: a small shell script that runs `python -m sandbox.minio.mc`."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from .remote import EXPECTED_ACCESS_KEY, EXPECTED_SECRET_KEY

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The directory holding the `sandbox` package, for the script's PYTHONPATH."""


def install_mc(bin_dir: Path, *, credentials: tuple[str, str] | None = None) -> Path:
    """Write `bin_dir/mc` (mode 0700) and return its path.

    With `credentials` (access key, secret key), the stand-in refuses other keys as MinIO does.
    They live in the script, not in the environment of whoever runs it, so a pod's shell does not
    see them.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "#!/bin/sh",
        "# The sandbox's stand-in for MinIO's client (sandbox/minio/mc.py).",
        f"PYTHONPATH={shlex.quote(str(PROJECT_ROOT))}${{PYTHONPATH:+:$PYTHONPATH}}; export PYTHONPATH",
    ]
    if credentials is not None:
        lines += [
            f"{EXPECTED_ACCESS_KEY}={shlex.quote(credentials[0])}; export {EXPECTED_ACCESS_KEY}",
            f"{EXPECTED_SECRET_KEY}={shlex.quote(credentials[1])}; export {EXPECTED_SECRET_KEY}",
        ]
    # -S: no `site` (the environment's .pth files and the editable install's import hooks), as the
    # stand-in needs only the standard library; the real mc is a Go binary that starts at once.
    lines.append(f'exec {shlex.quote(sys.executable)} -S -m sandbox.minio.mc "$@"')
    path = bin_dir / "mc"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o700)
    return path
