"""The Slack-down commands on a database alone, in-process: exit codes 2 and 3, the JSON's schema and
run, and the audit's actor (the story against the sandbox is tests/scenarios/test_cli_story.py)."""

from __future__ import annotations

import getpass
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.audit import actors, trail
from bot.cli import main
from bot.store.lease import Holder, RunnerLease
from bot.store.migrate import open_database

ME = f"cli:{getpass.getuser()}"


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty database, and an environment that names only it."""
    for name in list(os.environ):
        if name.startswith(("SLACK_", "REGCLEAN_", "KUBECONFIG", "DATABASE_URL")):
            monkeypatch.delenv(name)
    url = f"sqlite:///{tmp_path / 'regclean.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def json_out(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc, dict)
    return doc


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["no-such-command"], "invalid choice"),
        (["restore"], "the following arguments are required: what"),
        (["restore", "core", "--retry-failed"], "--retry-failed is for `restore plugins`"),
        (["window", "tomorrow"], "`window` takes nothing"),
        (["window", "2026-12-01T02:00", "4h"], "offset"),
        (["schedule", "cancel", "soon"], "`schedule` takes nothing"),
        (["status", "--format", "yaml"], "invalid choice: 'yaml'"),
    ],
)
def test_a_usage_error_exits_2_with_a_sentence(
    database: str, capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert said in err and "Traceback" not in err


def test_status_window_and_schedule_print_json_with_the_schema_and_no_run(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--format", "json"]) == 0
    status = json_out(capsys)
    assert status["schema"] == 1 and status["run"] is None and status["steps"] == []
    assert main(["window", "--format", "json"]) == 0
    window = json_out(capsys)
    assert window["schema"] == 1 and window["used"] is False and window["inside"] is None
    assert main(["schedule", "--format", "json"]) == 0
    assert json_out(capsys) == {"schema": 1, "run": None, "message": None, "scheduled": []}


def test_a_declared_window_is_audited_as_the_local_user_with_the_name_given(
    database: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actors, "_names", {})  # what this process learnt of names stays in this test
    start = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%MZ")
    assert main(["window", start, "2h", "--as", "Alice Example", "--format", "json"]) == 0
    doc = json_out(capsys)
    assert doc["inside"] is not None and str(doc["message"]).startswith("Declared the maintenance window")
    db = open_database(database)
    try:
        (row,) = [r for r in trail.read(db) if r["action"] == "window.declared"]
    finally:
        db.close()
    assert (row["actor"], row["actor_name"]) == (ME, "Alice Example")
    assert main(["window", "cancel"]) == 0
    assert "Cancelled the window" in capsys.readouterr().out
    assert main(["window", "cancel"]) == 3  # nothing is declared any more: a rule, not a usage error
    assert "No window is declared" in capsys.readouterr().err
    assert main(["window", "cancel", "--format", "json"]) == 3
    assert json_out(capsys) == {
        "schema": 1,
        "run": None,
        "exit": 3,
        "refusals": ["No window is declared; there is nothing to cancel."],
    }


def test_purge_without_a_run_is_refused_with_3(database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["purge", "--format", "json"]) == 3
    captured = capsys.readouterr()
    doc = json.loads(captured.out)
    assert doc["schema"] == 1 and doc["exit"] == 3 and doc["request"] is None
    assert doc["refusals"] == ["No run is active, so there is nothing to purge."]
    assert "refused: No run is active" in captured.err


def test_restore_and_close_without_a_run_are_refused_with_3(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["close", "--format", "json"]) == 3
    doc = json_out(capsys)
    assert doc["schema"] == 1 and doc["exit"] == 3 and doc["steps"] == [] and doc["refusals"]


def test_schedule_cancel_is_refused_while_a_bot_serves(
    database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # a regclean on another host holds the runner lease: its scheduler keeps the job in memory
    db = open_database(database)
    try:
        RunnerLease(db, Holder("serving", "replica-a", 4242), timedelta(minutes=5)).acquire()
    finally:
        db.close()
    assert main(["schedule", "cancel", "7"]) == 3
    err = capsys.readouterr().err
    assert "is serving" in err and "/regclean schedule cancel 7" in err
