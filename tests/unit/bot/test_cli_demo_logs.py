"""`regclean demo --logs FILE` hands the demo a file for the bot's JSON log, and the demo writes it."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import TextIO

import pytest

import sandbox.demo
from bot.cli import main
from bot.logs import captured


async def fake_demo(mode: str = "http", out: TextIO | None = None, logs: TextIO | None = None) -> int:
    """Logs one line as the demo's bot would, through the same capture the real demo uses."""
    assert logs is not None, "--logs gave no file to the demo"
    with captured(logs):
        logging.getLogger("bot.core.engine").info("step inventory #1 of run #1 started")
    return 0


def test_demo_logs_go_to_the_named_file_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox.demo, "run_demo", fake_demo)
    target = tmp_path / "demo.jsonl"
    assert main(["demo", "--logs", str(target)]) == 0
    [line] = [json.loads(text) for text in target.read_text().splitlines()]
    assert (line["logger"], line["message"]) == ("bot.core.engine", "step inventory #1 of run #1 started")
