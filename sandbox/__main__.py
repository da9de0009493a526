"""`python -m sandbox up`: the sandbox and the bot on it, for a person to drive from the terminal.

Type lines like `alice inventory` (a person of the sandbox workspace and the text after
`/regclean`); the conversation is printed as it grows. End with Ctrl-D.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path

from sandbox.hostile import HostileSandbox
from sandbox.kube.fixtures import load_fixture
from sandbox.people import PEOPLE
from sandbox.stack import INSTALLER_NODE, Mode, Sandbox, running_bot


async def up(mode: Mode, fixture: str | None, hostile: bool = False) -> int:
    """Start everything, then relay typed commands until end of input."""
    with tempfile.TemporaryDirectory(prefix="regclean-sandbox-") as tmp:
        if hostile:
            box: Sandbox = HostileSandbox(Path(tmp))
        else:
            box = Sandbox(Path(tmp), load_fixture(fixture) if fixture else load_fixture())
        await box.start()
        try:
            async with running_bot(box, mode) as bot:
                print(f"Kubernetes API: {box.kube.url}\nSlack Web API: {box.slack.api_url}")
                print(f"Registry: {box.registry.url} ({len(box.images)} images; bucket on {box.s3.url})")
                print(f"MinIO pod minio-0: {box.minio_pod.env_file}, `mc` in {box.minio_pod.bin_dir}")
                print(f"Installer on {INSTALLER_NODE}: {box.plugin_dir} ({len(box.packages)} packages)")
                print(f"People: {', '.join(PEOPLE.values())}. Type e.g. `alice inventory`; Ctrl-D ends.")
                by_name = {name: uid for uid, name in PEOPLE.items()}
                while line := await asyncio.to_thread(sys.stdin.readline):
                    name, _, text = line.strip().partition(" ")
                    if not name:
                        continue
                    if name not in by_name:
                        print(f"unknown person {name!r}; one of: {', '.join(by_name)}")
                        continue
                    await bot.driver.slash(by_name[name], text.removeprefix("/regclean").strip())
                    await bot.bot.runbook.drain()
                    await bot.bot.notifier.flush()
                    # Messages are edited in place and threads grow, so show the whole conversation.
                    print("\n--- the conversation so far ---\n" + box.slack.transcript())
        finally:
            await box.stop()
    return 0


def main() -> int:
    """Parse the command line."""
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start the sandbox and the bot, and relay typed commands")
    start.add_argument("--mode", choices=("http", "socket"), default="http")
    which = start.add_mutually_exclusive_group()
    which.add_argument("--fixture", help="a YAML fixture instead of the sample ACP cluster")
    which.add_argument(
        "--hostile", action="store_true", help="the sample with hostile strings (sandbox/hostile.py)"
    )
    args = parser.parse_args()
    return asyncio.run(up(args.mode, args.fixture, args.hostile))


if __name__ == "__main__":
    sys.exit(main())
