"""bot/logs.py: JSON and text lines, with the run and step the engine marked, from tasks and threads."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime

import pytest

from bot.core.errors import ConfigError
from bot.logs import captured, configure, current_step, in_step, out_of_step


@pytest.fixture
def root() -> Iterator[logging.Logger]:
    """The root logger, its handlers and levels put back afterwards."""
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    ssh, slack = logging.getLogger("asyncssh").level, logging.getLogger("slack_sdk").level
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(level)
    logging.getLogger("asyncssh").setLevel(ssh)
    logging.getLogger("slack_sdk").setLevel(slack)
    out_of_step()


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_json_line_has_time_level_logger_message_and_its_fields(root: logging.Logger) -> None:
    out = io.StringIO()
    configure("info", "json", out)
    logging.getLogger("bot.x").info("%d objects", 3, extra={"fields": {"event": "e", "counts": {"a": 1}}})
    logging.getLogger("bot.x").debug("not at INFO")
    [line] = lines(out)
    assert set(line) == {"time", "level", "logger", "message", "event", "counts"}
    assert (line["level"], line["logger"], line["message"]) == ("INFO", "bot.x", "3 objects")
    assert (line["event"], line["counts"]) == ("e", {"a": 1})
    stamp = datetime.fromisoformat(str(line["time"]))
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_an_exception_goes_into_the_object_not_onto_more_lines(root: logging.Logger) -> None:
    out = io.StringIO()
    configure("info", "json", out)
    try:
        raise ValueError("broken")
    except ValueError:
        logging.getLogger("bot.x").exception("it broke")
    [line] = lines(out)
    assert "ValueError: broken" in str(line["exception"])


async def test_lines_logged_while_a_step_runs_carry_it_from_tasks_and_threads(root: logging.Logger) -> None:
    out = io.StringIO()
    configure("info", "json", out)
    log = logging.getLogger("actions.y")

    async def step() -> None:
        in_step(7, "purge", 42)
        log.info("in the task")
        await asyncio.to_thread(log.info, "in a worker thread")
        await asyncio.create_task(asyncio.to_thread(log.info, "in a task it started"))
        out_of_step()
        log.info("after the step")

    await asyncio.create_task(step())
    log.info("in another task")
    found = [(line["message"], line.get("run"), line.get("step"), line.get("step_id")) for line in lines(out)]
    assert found == [
        ("in the task", 7, "purge", 42),
        ("in a worker thread", 7, "purge", 42),
        ("in a task it started", 7, "purge", 42),
        ("after the step", None, None, None),
        ("in another task", None, None, None),
    ]
    assert current_step() is None, "the mark stayed in the step's task"


def test_text_lines_say_the_run_and_step_and_fields_after_the_message(root: logging.Logger) -> None:
    out = io.StringIO()
    configure("INFO", "text", out)
    in_step(3, "backup", 9)
    logging.getLogger("bot.z").warning("ended", extra={"fields": {"outcome": "failed"}})
    text = out.getvalue().strip()
    assert text.endswith("WARNING bot.z: ended [run 3 step backup] outcome=failed"), text
    assert text[:19].count("T") == 1 and text[19] == "Z", "UTC, ISO-8601"


def test_asyncssh_only_warns_unless_debugging_and_slack_sdk_never_debugs(root: logging.Logger) -> None:
    configure("INFO", "json", io.StringIO())
    assert logging.getLogger("asyncssh").getEffectiveLevel() == logging.WARNING
    configure("DEBUG", "json", io.StringIO())
    assert logging.getLogger("asyncssh").getEffectiveLevel() == logging.DEBUG
    assert logging.getLogger("slack_sdk").getEffectiveLevel() == logging.INFO


def test_configure_replaces_its_own_handler_and_writes_to_stderr_as_it_is_when_a_line_comes(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    for present in list(root.handlers):  # a process whose logging nobody configured yet
        root.removeHandler(present)
    configure("INFO", "text")
    configure("INFO", "json")  # the second replaces the first
    logging.getLogger("bot.b").info("once")
    err = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["message"] for line in err] == ["once"]
    assert len(root.handlers) == 1


def test_configure_leaves_the_logging_to_a_host_that_has_handlers_unless_given_a_stream(
    root: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    hosts = io.StringIO()
    for present in list(root.handlers):
        root.removeHandler(present)
    root.addHandler(logging.StreamHandler(hosts))
    root.setLevel(logging.WARNING)
    assert configure("INFO", "json") is None
    assert root.level == logging.WARNING, "the host's level is the host's (it leaked into later tests)"
    logging.getLogger("bot.c").info("not for this host")
    logging.getLogger("bot.c").warning("to the host")
    assert capsys.readouterr().err == "" and hosts.getvalue() == "to the host\n"
    mine = io.StringIO()
    assert configure("INFO", "json", mine) is not None
    logging.getLogger("bot.c").info("to both")
    assert [line["message"] for line in lines(mine)] == ["to both"]


def test_an_unknown_level_is_a_configuration_error_naming_the_setting() -> None:
    with pytest.raises(ConfigError, match="REGCLEAN_LOG_LEVEL='LOUD' is not a log level"):
        configure("LOUD", "json", io.StringIO())


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="json"):
        configure("INFO", "yaml", io.StringIO())


def test_captured_adds_a_json_handler_for_a_while_and_leaves_the_others(root: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    configure("WARNING", "text", first)
    with captured(second):
        logging.getLogger("bot.a").info("kept")
        logging.getLogger("asyncssh").info("connection chatter")
    logging.getLogger("bot.a").info("after")
    assert [line["message"] for line in lines(second)] == ["kept"]
    assert first.getvalue() == "" and root.level == logging.WARNING
