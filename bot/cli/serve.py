"""`regclean serve`: run the Slack bot (bot/app.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from bot.config.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`serve [--host H] [--port P] [--no-wait]`."""
    serve = sub.add_parser("serve", help="run the Slack bot (HTTP mode and/or Socket Mode)")
    serve.add_argument("--host", help="listen address in HTTP mode (default: $REGCLEAN_HOST or 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (default: $REGCLEAN_PORT or 3000)")
    serve.add_argument(
        "--no-wait",
        action="store_true",
        help="exit instead of waiting when another regclean holds the runner lease on the same database",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Serve until stopped."""
    from bot.app import serve

    overrides = {k: v for k, v in (("host", args.host), ("port", args.port)) if v is not None}
    if overrides:
        settings = settings.model_copy(update=overrides)
    from bot.runner import LeaseHeld

    try:
        asyncio.run(serve(settings, wait=not args.no_wait))
    except LeaseHeld as exc:  # --no-wait: another regclean serves; exit 1, as before exit 3 existed
        print(f"regclean: {exc}", file=sys.stderr)
        return 1
    return 0
