"""`regclean serve` as a real OS process: started, killed (SIGKILL), stopped (SIGTERM), started again.

`running_bot` (sandbox/stack.py) runs the bot inside the test's own process, which cannot show
what a restart leaves behind. Here the bot is a child process in HTTP mode, on a free port,
ready once `/healthz` answers; the bot settles what a previous process left running before it
listens, so ready also means recovered. Each start appends the child's output to one log file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from bot.config.settings import CONFIG_FILE_ENV, Settings, env_name
from sandbox.registry.process import ChildServer, free_port
from sandbox.slack import SlackDriver
from sandbox.stack import Sandbox

READY_WITHIN = 60.0
"""How long a start may take: imports, the database, recovery, then listening."""
STOP_WITHIN = 30.0
"""How long a clean stop may take (running steps are marked, pending Slack updates delivered)."""
LOG_LINES = 40


class ServeProcess(ChildServer):
    """`python -m bot.cli serve` with `env`, in HTTP mode on a free port of 127.0.0.1; output to `log_path`."""

    def __init__(self, env: Mapping[str, str], log_path: Path) -> None:
        super().__init__("regclean serve", log_path)
        self.env = dict(env)
        """The bot's settings (the process also gets this process's environment, under them)."""
        self.url = ""
        """`http://127.0.0.1:PORT` of the newest process."""
        self.starts = 0

    async def serve(self) -> str:
        """Start a process (on the same database as any before it); returns its URL once it is healthy."""
        self.starts += 1
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a") as log:
            log.write(f"--- regclean serve, start {self.starts}, {self.url} ---\n")
        env = {**_inherited(), **self.env, "REGCLEAN_HOST": "127.0.0.1", "REGCLEAN_PORT": str(port)}
        await self.start(
            [sys.executable, "-m", "bot.cli", "serve"],
            env=env,
            ready_url=f"{self.url}/healthz",
            ready_statuses={200},
            ready_within=READY_WITHIN,
        )
        return self.url

    async def kill(self) -> int:
        """SIGKILL: the process ends wherever it was, with nothing flushed; returns its exit status."""
        return await self._end(signal.SIGKILL)

    async def terminate(self) -> int:
        """SIGTERM, as a service manager stops the bot; returns the exit status once the process is gone."""
        return await self._end(signal.SIGTERM)

    def log_tail(self, lines: int = LOG_LINES) -> str:
        """The last lines of the log, introduced by its path (empty when there is no log)."""
        return self._tail(lines)

    async def _end(self, sig: signal.Signals) -> int:
        proc = self._proc
        if proc is None or proc.returncode is not None:
            raise RuntimeError(f"{self.name} is not running")
        proc.send_signal(sig)
        try:
            return await asyncio.wait_for(proc.wait(), STOP_WITHIN)
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(
                f"{self.name} did not end within {STOP_WITHIN:.0f}s of {sig.name}{self._tail(LOG_LINES)}"
            ) from None


class BotProcess(ServeProcess):
    """`regclean serve` against a sandbox, with a driver that sends the workspace's requests to it."""

    def __init__(self, sandbox: Sandbox, overrides: Mapping[str, str] | None = None) -> None:
        env = {**sandbox.environment("http"), **(overrides or {})}
        super().__init__(env, sandbox.workdir / "regclean-serve.log")
        self.sandbox = sandbox

    @property
    def driver(self) -> SlackDriver:
        """Signed slash commands and clicks, to the newest process."""
        return SlackDriver(self.sandbox.slack, events_url=f"{self.url}/slack/events")

    async def restart(self) -> str:
        """A fresh process on the same database, once the previous one has ended (`kill` or `terminate`)."""
        if self.running:
            raise RuntimeError(f"{self.name} is still running: kill or terminate it first")
        return await self.serve()


@contextlib.asynccontextmanager
async def bot_process(
    sandbox: Sandbox, overrides: Mapping[str, str] | None = None
) -> AsyncIterator[BotProcess]:
    """`regclean serve` started against the sandbox, and stopped (SIGTERM) at the end if it still runs.

    An exception from the block carries the log's path and last lines as a note.
    """
    bot = BotProcess(sandbox, overrides)
    await bot.serve()
    try:
        yield bot
    except BaseException as exc:
        exc.add_note(f"regclean serve, {bot.starts} starts{bot.log_tail() or ': no log'}")
        raise
    finally:
        await bot.stop()


def _inherited() -> dict[str, str]:
    """This process's environment less every setting of the bot, so that only `env` configures it,
    as `running_bot` configures the bot in-process."""
    settings = {env_name(name) for name in Settings.model_fields} | {CONFIG_FILE_ENV}
    return {k: v for k, v in os.environ.items() if k not in settings}
