"""`regclean demo`: the runbook against the sandbox, the conversation printed (needs a checkout)."""

from __future__ import annotations

import argparse
import asyncio
import sys

NEEDS_SETTINGS = False


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`demo [--mode http|socket] [--logs FILE]`."""
    demo = sub.add_parser("demo", help="run the runbook against the sandbox and print the conversation")
    demo.add_argument("--mode", choices=("http", "socket"), default="http", help="how the bot talks to Slack")
    demo.add_argument("--logs", metavar="FILE", help="also write the bot's log there, as JSON lines")


def run(settings: object, args: argparse.Namespace) -> int:
    """Run the demo; 2 when the sandbox is not installed."""
    try:
        from sandbox.demo import run_demo  # the only place the bot touches the sandbox
    except ModuleNotFoundError as exc:  # the image leaves the sandbox and its servers out
        need = f"the demo needs the sandbox ({exc.name} is missing): run `make demo` in a checkout"
        print(f"regclean: {need}", file=sys.stderr)
        return 2
    if args.logs is None:
        return asyncio.run(run_demo(mode=args.mode))
    with open(args.logs, "w", encoding="utf-8") as logs:
        return asyncio.run(run_demo(mode=args.mode, logs=logs))
