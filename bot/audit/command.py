"""`regclean audit`: export the audit trail, or verify its hash chain (docs/architecture.md,
"The audit trail").

Exit codes: 0 exported, or the chain holds; 1 the chain is broken (the message names the first row);
2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from bot.audit import trail

if TYPE_CHECKING:
    from bot.config.settings import Settings

NAME = "audit"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `audit` to the command line."""
    parser = sub.add_parser(
        NAME,
        help="export the audit trail (every decision, hash-chained), or verify it",
        description="Print the audit trail, oldest row first, or verify that no row was changed or deleted.",
        epilog="exit status: 0 done (or the chain holds); 1 the chain is broken; 2 usage or configuration error",
    )
    parser.add_argument("--run", type=_run_id, metavar="N", help="only the rows of run N")
    parser.add_argument("--format", choices=trail.FORMATS, default="jsonl", help="jsonl (default) or csv")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="walk the whole hash chain and report the first edited or deleted row (exit 1)",
    )


def run(settings: Settings | None, args: argparse.Namespace) -> int:
    """Export or verify; the exit code as documented above."""
    from bot.store.migrate import open_database

    if settings is None:
        print("regclean audit: no settings: give --config FILE or set REGCLEAN_CONFIG.", file=sys.stderr)
        return 2
    if args.verify and args.run is not None:
        print("regclean audit: --verify checks the whole trail; leave out --run.", file=sys.stderr)
        return 2
    db = open_database(settings.database_url.get_secret_value())
    try:
        if args.verify:
            verdict = trail.verify(db)
            print(f"regclean audit: {verdict}", file=sys.stdout if verdict.broken is None else sys.stderr)
            return 0 if verdict.broken is None else 1
        text = trail.render(trail.read(db, args.run), args.format)
    finally:
        db.close()
    if args.output is None:
        sys.stdout.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        print(
            f"regclean audit: cannot write {args.output}: {exc.strerror}; choose another file.",
            file=sys.stderr,
        )
        return 2
    return 0


def _run_id(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"a run is a positive number, not {value!r}")
    return int(value)
