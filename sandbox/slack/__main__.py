"""`python -m sandbox.slack`: the simulated workspace on its own, for a bot in another process.

The first stdout line is `SLACK_URL=http://127.0.0.1:PORT`; then one line per bot message
whose text starts with a watched prefix (`--watch`, repeatable), as `MESSAGE <text>`.
Runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable

from sandbox.people import PEOPLE, USERGROUPS
from sandbox.slack.workspace import SlackWorkspace


async def serve(watch: list[str]) -> None:
    """Start the workspace and report watched messages until told to stop."""
    ws = SlackWorkspace()
    for user_id, name in PEOPLE.items():
        ws.add_user(user_id, name)
    for group_id, handle, members in USERGROUPS:
        ws.add_usergroup(group_id, handle, list(members))
    await ws.start()
    print(f"SLACK_URL={ws.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    async def report() -> None:
        seen = 0
        while True:
            await ws.wait_for(_more_than(seen), timeout=3600)
            for message in ws.messages[seen:]:
                if any(message.text.startswith(prefix) for prefix in watch):
                    print(f"MESSAGE {message.text}", flush=True)
            seen = len(ws.messages)

    reporter = asyncio.create_task(report())
    try:
        await stop.wait()
    finally:
        reporter.cancel()
        await ws.stop()


def _more_than(seen: int) -> Callable[[SlackWorkspace], bool]:
    return lambda ws: len(ws.messages) > seen


def main() -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.slack", description=__doc__)
    parser.add_argument("--watch", action="append", default=[], metavar="PREFIX")
    asyncio.run(serve(parser.parse_args().watch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
