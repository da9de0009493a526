"""The test suite. Importing it (pytest does, before any conftest) keeps Python's bytecode.

The suite starts many Python processes: the xdist workers, `regclean serve` and `regclean doctor`
as real processes, moto, the `mc` and `crictl` stand-ins. With PYTHONDONTWRITEBYTECODE set (as
on the machines here) each of them compiles every module it imports from source: about 2.3 s of
CPU for each start of the bot alone, and the whole of moto, botocore and the test modules again
in every worker. The tests keep the bytecode under `.cache/pycache` instead (PYTHONPYCACHEPREFIX,
which the child processes inherit), so the source tree stays free of `__pycache__` as that
setting wants. A PYTHONPYCACHEPREFIX of one's own is kept.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

if os.environ.get("PYTHONDONTWRITEBYTECODE"):
    _prefix = os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", str(Path(__file__).resolve().parents[1] / ".cache" / "pycache")
    )
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    sys.pycache_prefix = _prefix
    sys.dont_write_bytecode = False
