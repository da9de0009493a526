"""The bot's own errors: a setting it cannot use, or a request it refuses, each saying why and what to do."""

from __future__ import annotations


class ConfigError(Exception):
    """A setting is missing or malformed; the message names it and never echoes a value."""


class RunbookError(Exception):
    """The engine refuses a request; `str(err)` is safe to show to a person."""


class StepBusy(RunbookError):
    """The same step is already running in this run."""


class WindowError(RunbookError):
    """A maintenance window that cannot be: a time without an offset, a bad length or cron, or one that ended."""
