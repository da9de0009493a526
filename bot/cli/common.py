"""What the subcommands share: the store, running a step from the terminal, JSON on stdout."""

from __future__ import annotations

import asyncio
import getpass
import json
import sys
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

from bot.core.errors import RunbookError

if TYPE_CHECKING:
    from bot.config.settings import Settings
    from bot.core.model import StepView
    from bot.core.notifier import Requester
    from bot.runbook import Runbook
    from bot.store.runs import Store

T = TypeVar("T")


class StepFailed(RunbookError):
    """A step ended without a result; the message says why."""


def open_store(settings: Settings) -> Store:
    """The bot's database, migrated; the caller closes it."""
    from bot.store.migrate import open_database
    from bot.store.runs import Store

    return Store(open_database(settings.database_url.get_secret_value()))


def run_step(
    settings: Settings,
    fmt: str,
    step: Callable[[Runbook, Requester], Coroutine[Any, Any, tuple[StepView, T | None]]],
) -> T:
    """Run one step from the terminal (progress on stderr in table format); raise StepFailed if it failed."""
    from bot.console import ConsoleNotifier
    from bot.core.notifier import Requester
    from bot.runbook import Runbook

    store = open_store(settings)
    try:
        runbook = Runbook.from_settings(settings, store, ConsoleNotifier(verbose=fmt == "table"))
        done, result = asyncio.run(step(runbook, Requester(f"cli:{getpass.getuser()}")))
    finally:
        store.close()
    if result is None:
        raise StepFailed(done.error or f"{done.name} failed")
    return result


def print_json(doc: object) -> None:
    """One JSON document on stdout."""
    json.dump(doc, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def text(value: int | None) -> str | None:
    """A number as a table cell."""
    return None if value is None else str(value)
