"""The process's logging: text or JSON lines (`REGCLEAN_LOG_FORMAT`), with the run and step they concern.

The engine marks the step a task works on (`in_step`); every line logged from that task, and from
the worker threads it hands work to, carries the run's and the step's id, whichever module logs
it. A line may carry fields of its own (`extra={"fields": {...}}`): JSON puts them in the object,
text appends them as `key=value`. See docs/architecture.md, "Logs and metrics".
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from bot.core.errors import ConfigError

FORMATS = ("text", "json")
_OURS = "regclean"
"""The name of the handler `configure` installs (a second call replaces it)."""


@dataclass(frozen=True)
class StepMark:
    """The step a task is working on."""

    run: int
    step: str
    step_id: int


_current: ContextVar[StepMark | None] = ContextVar("regclean_step", default=None)


def in_step(run: int, step: str, step_id: int) -> None:
    """From now on, in this task (and the tasks and threads it starts), lines are about this step."""
    _current.set(StepMark(run, step, step_id))


def out_of_step() -> None:
    """The task no longer works on a step (it ended)."""
    _current.set(None)


def current_step() -> StepMark | None:
    """The step the running task works on, if any."""
    return _current.get()


class StepContext(logging.Filter):
    """Puts the current run and step on every record (`record.run`, `record.step`, `record.step_id`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        mark = _current.get()
        if mark is not None and not hasattr(record, "run"):
            record.run, record.step, record.step_id = mark.run, mark.step, mark.step_id
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO-8601), level, logger, message, run and step where
    they apply, the line's own fields, and the exception's traceback if there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("run", "step", "step_id"):
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update({k: v for k, v in fields.items() if k not in line})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger: message [run N step S] key=value …`, the time in UTC."""

    @staticmethod
    def converter(seconds: float | None = None) -> time.struct_time:
        return time.gmtime(seconds)

    def __init__(self) -> None:
        super().__init__("%(asctime)sZ %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        where = getattr(record, "run", None)
        suffix = f" [run {where} step {getattr(record, 'step', '?')}]" if where is not None else ""
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            suffix += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        if not suffix:
            return text
        first, newline, rest = text.partition("\n")
        return first + suffix + newline + rest


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a line is logged (a test may swap it)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, value: IO[str]) -> None:
        pass


def handler(stream: IO[str] | None, fmt: str = "text") -> logging.Handler:
    """A handler writing lines in `fmt` (`text` or `json`) to `stream` (None: stderr), with the run
    and step on them."""
    if fmt not in FORMATS:
        raise ValueError(f"log format must be one of {FORMATS}, not {fmt!r}")
    made = logging.StreamHandler(stream) if stream is not None else _Stderr()
    made.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    made.addFilter(StepContext())
    return made


def configure(level: str, fmt: str = "text", stream: IO[str] | None = None) -> logging.Handler | None:
    """Log at `level` to `stream` in `fmt` (`text` or `json`), replacing the handler an earlier call
    installed. Without a `stream`, lines go to stderr, unless the root logger already has handlers of
    its host's (a test runner's, an embedding program's): as `logging.basicConfig`, those are left to
    do the logging, and None is returned. asyncssh's connection chatter only shows at DEBUG;
    slack_sdk's request details never go below INFO."""
    root = logging.getLogger()
    ours = [h for h in root.handlers if h.get_name() == _OURS]
    hosted = len(ours) < len(root.handlers)
    made = None if stream is None and hosted else handler(stream, fmt)
    for old in ours:
        root.removeHandler(old)
    if made is not None:
        made.set_name(_OURS)
        root.addHandler(made)
    wanted = logging.getLevelNamesMapping().get(level.upper())
    if wanted is None:
        raise ConfigError(
            f"REGCLEAN_LOG_LEVEL={level!r} is not a log level: use DEBUG, INFO, WARNING or ERROR"
        )
    if made is not None or not hosted:
        root.setLevel(wanted)  # a host's level is the host's, as with logging.basicConfig
    debugging = wanted <= logging.DEBUG
    logging.getLogger("asyncssh").setLevel(logging.DEBUG if debugging else logging.WARNING)
    logging.getLogger("slack_sdk").setLevel(max(logging.INFO, wanted))
    return made


@contextmanager
def captured(stream: IO[str], fmt: str = "json") -> Iterator[None]:
    """Also write INFO lines and above to `stream` while the block runs, beside the handlers there are
    (the demo keeps the bot's log this way); asyncssh's below WARNING, as `configure` does."""
    made = handler(stream, fmt)
    made.setLevel(logging.INFO)
    root, ssh = logging.getLogger(), logging.getLogger("asyncssh")
    levels = root.level, ssh.level
    # The root logger lets INFO through now; the handlers there were keep to what they showed.
    others = [h for h in root.handlers if h.level == logging.NOTSET]
    for other in others:
        other.setLevel(root.level)
    root.addHandler(made)
    root.setLevel(min(root.level, logging.INFO))
    ssh.setLevel(ssh.level or logging.WARNING)
    try:
        yield
    finally:
        root.removeHandler(made)
        root.setLevel(levels[0])
        ssh.setLevel(levels[1])
        for other in others:
            other.setLevel(logging.NOTSET)
