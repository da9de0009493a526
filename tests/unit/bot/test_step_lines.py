"""The engine's start and end lines and what it tells its watcher, for each way a step ends."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.errors import RunbookError
from bot.core.model import StepState
from bot.logs import current_step, handler
from tests.unit.bot.steps.context import ALICE, step_context


class Watcher:
    def __init__(self) -> None:
        self.told: list[tuple[str, str, float, dict[str, int]]] = []
        self.started: list[str] = []

    def step_started(self, name: str) -> None:
        self.started.append(name)

    def step_ended(self, name: str, outcome: str, seconds: float, counts: Mapping[str, int]) -> None:
        self.told.append((name, outcome, seconds, dict(counts)))


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    made = handler(out, "json")
    engine_log = logging.getLogger("bot.core")
    level = engine_log.level
    engine_log.addHandler(made)
    engine_log.setLevel(logging.INFO)
    yield out
    engine_log.removeHandler(made)
    engine_log.setLevel(level)


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_a_step_that_ends_with_counts_logs_them_and_tells_the_watcher(
    tmp_path: Path, log: io.StringIO
) -> None:
    with step_context(tmp_path) as f:
        watcher = Watcher()
        f.engine.watcher = watcher
        run, step = await f.engine.start(ALICE, "purge")
        assert current_step() is not None and current_step().step_id == step.id  # type: ignore[union-attr]
        f.clock.advance(timedelta(seconds=90))
        await f.engine.finish(step, StepState.SUCCEEDED, summary="done", counts={"objects_removed": 600})
        assert current_step() is None
    start, end = lines(log)
    assert (start["event"], start["run"], start["step"], start["requested_by"]) == (
        "step.start",
        run.id,
        "purge",
        ALICE.user,
    )
    assert (end["event"], end["level"], end["outcome"], end["duration_s"]) == (
        "step.end",
        "INFO",
        "succeeded",
        90,
    )
    assert end["counts"] == {"objects_removed": 600} and "objects_removed=600" in str(end["message"])
    assert watcher.started == ["purge"] and watcher.told == [
        ("purge", "succeeded", 90.0, {"objects_removed": 600})
    ]


async def test_a_failure_and_an_interruption_each_log_one_end_line_with_why(
    tmp_path: Path, log: io.StringIO
) -> None:
    with step_context(tmp_path) as f:
        watcher = Watcher()
        f.engine.watcher = watcher

        async def fails() -> int:
            raise RunbookError("The registry said no.")

        run, step = await f.engine.start(ALICE, "backup")
        assert await f.engine.guarded(run, step, ALICE, fails) is None

        running = asyncio.Event()

        async def waits() -> None:
            running.set()
            await asyncio.Event().wait()

        run, other = await f.engine.start(ALICE, "verify")
        task = asyncio.create_task(f.engine.guarded(run, other, ALICE, waits))
        await running.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    ends = [line for line in lines(log) if line["event"] == "step.end"]
    assert [(e["step"], e["outcome"], e["level"]) for e in ends] == [
        ("backup", "failed", "WARNING"),
        ("verify", "interrupted", "WARNING"),
    ]
    assert ends[0]["error"] == "The registry said no." and ends[0]["counts"] == {}
    assert [(name, outcome) for name, outcome, _, _ in watcher.told] == [
        ("backup", "failed"),
        ("verify", "interrupted"),
    ]
