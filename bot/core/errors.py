"""The bot's own errors under the one root, `RegcleanError`: a setting it cannot use, or a request it
refuses, each saying why and what to do. Actions raise `ActionError`, the third branch."""

from __future__ import annotations

from actions.errors import ActionError, RegcleanError

__all__ = ["ActionError", "ConfigError", "RegcleanError", "RunbookError", "StepBusy", "WindowError"]


class ConfigError(RegcleanError):
    """A setting is missing or malformed; the message names it and never echoes a value."""


class RunbookError(RegcleanError):
    """The engine refuses a request; `str(err)` is safe to show to a person."""

    def __init__(self, message: str, *, gist: str | None = None) -> None:
        super().__init__(message)
        self.gist = gist or message
        """What the refusal says, without what changes from one asking to the next (how long a step
        has run): the same refusal to someone who keeps asking is paced by it."""


class StepBusy(RunbookError):
    """The same step is already running in this run."""


class WindowError(RunbookError):
    """A maintenance window that cannot be: a time without an offset, a bad length or cron, or one that ended."""
