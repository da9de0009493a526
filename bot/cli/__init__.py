"""`regclean`: the command line (docs/architecture.md, "The command line").

`main()` builds the parser from `COMMANDS`: each is a module with `add_parser(sub)`, which adds one or
more subcommands, and `run(settings, args) -> int`, which runs whichever of them was chosen. A module
whose `NEEDS_SETTINGS` is False is run with `settings=None` before any settings are loaded (the demo).
Exit codes: see `EXIT_CODES`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from types import ModuleType

from actions.errors import RegcleanError
from bot.audit import command as audit
from bot.cli import calendar, checks, demo, operate, purge, rollback, serve, steps
from bot.cli.common import FAILED, REFUSED, StepFailed, print_json, refused
from bot.config.settings import ConfigError, Settings
from bot.core.errors import RunbookError
from bot.version import VersionAction

COMMANDS: tuple[ModuleType, ...] = (
    serve,
    steps,
    operate,
    purge,
    calendar,
    rollback,
    checks,
    demo,
    audit,
)

EXIT_CODES = """exit status (every command):
  0    done
  1    a step or a check failed (the message or the JSON says which)
  2    usage or configuration error
  3    refused by a gate or a rule (the message says what is missing)
  130  interrupted

JSON output (--format json) is one document with "schema": 1 and "run" (the run's id, or null)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `regclean` command."""
    parser = _parser()
    args = parser.parse_args(argv)
    command: ModuleType = args.command_module
    try:
        if not getattr(command, "NEEDS_SETTINGS", True):
            code: int = command.run(None, args)
            return code
        settings = Settings.load(config_file=args.config)
        _logging(settings.log_level, settings.log_format)
        for deprecated in settings.deprecations():
            logging.getLogger("regclean.config").warning("%s", deprecated)
        code = command.run(settings, args)
        return code
    except ConfigError as exc:
        print(f"regclean: {exc}", file=sys.stderr)
        return 2
    except StepFailed as exc:
        print(f"regclean: {exc}", file=sys.stderr)
        return FAILED
    except RunbookError as exc:  # a refusal: said on stderr, and in the JSON a script reads
        if getattr(args, "format", None) == "json":
            print_json({"exit": REFUSED, "refusals": [str(exc)]}, None)
        return refused(str(exc))
    except RegcleanError as exc:
        print(f"regclean: {exc}", file=sys.stderr)
        return FAILED
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regclean",
        description="Clean the built-in image registry of an ACP installation, safely, from Slack.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help="YAML settings file (default: $REGCLEAN_CONFIG)")
    parser.add_argument("--version", action=VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        register(sub, module)
    return parser


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser], module: ModuleType) -> None:
    """Let `module` add its subcommands, and route each of them to `module.run`."""
    before = set(sub.choices)
    module.add_parser(sub)
    for name in set(sub.choices) - before:
        sub.choices[name].set_defaults(command_module=module)


def _logging(level: str, fmt: str) -> None:
    # text or JSON lines (bot/logs.py); slack_sdk's request details and asyncssh's chatter kept out
    from bot.logs import configure

    configure(level, fmt)
