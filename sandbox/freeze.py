"""Holding the sandbox's registry still (SIGSTOP) for as long as a test needs.

A stopped process keeps its listening socket: the kernel still accepts connections, and every
request waits for an answer that comes only once the process continues. A restart drill uses
this to hold a step at a known point (a push by `upload.sh` or `violet`, a pull check) while the
bot is killed, instead of racing the step to its end.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

from sandbox.registry import Registry


@contextlib.contextmanager
def frozen(registry: Registry) -> Iterator[list[int]]:
    """The registry's process stopped for the block (it answers nothing), and continued after it."""
    pids = [registry.pid] if registry.pid is not None else []
    if not pids:
        raise RuntimeError(f"the registry {registry.config_path} is not running")
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield pids
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
