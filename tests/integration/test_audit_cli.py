"""`regclean audit`, in process: the export in both formats, one run's rows, and `--verify` with its
exit codes (0 the chain holds, 1 an edited or deleted row, 2 usage)."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.audit import trail
from bot.cli import main
from tests.databases import open_store
from tests.unit.bot.test_audit_chain import a_night


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A database with a night's audit rows, named by DATABASE_URL, in a clean environment."""
    for name in os.environ:
        if name.startswith(("SLACK_", "REGCLEAN_", "KUBECONFIG")):
            monkeypatch.delenv(name)
    url = f"sqlite:///{tmp_path / 'regclean.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    store = a_night(url)
    run = store.open_run("UALICE", "C1").id
    store.close()
    assert run == 1
    return url


def test_the_export_is_json_lines_that_verify(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit"]) == 0
    rows = trail.parse_jsonl(capsys.readouterr().out)
    assert len(rows) == 5 and trail.verify_rows(rows).broken is None
    assert {"id", "at", "actor", "actor_name", "action", "run_id", "detail", "prev", "hash"} <= set(rows[0])


def test_the_csv_export_of_one_run(url: str, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    open_store(url).audit("UBOB", "other.run", 2, {})
    assert main(["audit", "--run", "1", "--format", "csv", "-o", str(tmp_path / "audit.csv")]) == 0
    table = list(csv.DictReader(io.StringIO((tmp_path / "audit.csv").read_text())))
    assert len(table) == 5 and {row["run_id"] for row in table} == {"1"}
    assert capsys.readouterr().out == ""


def test_verify_holds_then_finds_the_edited_row(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--verify"]) == 0
    assert "holds: 5 rows chained" in capsys.readouterr().out
    store = open_store(url)
    with store.db.engine.begin() as connection:
        connection.execute(text('UPDATE audit SET detail = \'{"reason": "none"}\' WHERE id = 4'))
    assert main(["audit", "--verify"]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at audit row 4" in err and "changed after it was written" in err


def test_verify_finds_a_deleted_row(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(url)
    with store.db.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit WHERE id = 3"))
    assert main(["audit", "--verify"]) == 1
    assert "audit row 4: the row written before it was deleted" in capsys.readouterr().err


def test_usage_errors_exit_2(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "--verify", "--run", "1"]) == 2
    assert "leave out --run" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["audit", "--run", "x"])
    assert exc.value.code == 2 and "a run is a positive number" in capsys.readouterr().err
    assert main(["audit", "-o", "/nonexistent-dir/audit.jsonl"]) == 2
    assert "cannot write /nonexistent-dir/audit.jsonl" in capsys.readouterr().err
