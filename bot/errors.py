"""Errors of the engine: a request it refuses, with a sentence saying why and what to do."""

from __future__ import annotations


class RunbookError(Exception):
    """The engine refuses a request; `str(err)` is safe to show to a person."""


class StepBusy(RunbookError):
    """The same step is already running in this run."""
