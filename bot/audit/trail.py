"""Reading the audit trail: its rows as JSON Lines or CSV, and the verification of its chain
(docs/architecture.md, "The audit trail"). Blocking calls: run them off the event loop."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.audit.chain import Break, check, fields_of
from bot.steps.inventory.render import csv_cell
from bot.store.database import Database
from bot.store.schema import AuditRow

FORMATS = ("jsonl", "csv")
#: the CSV's columns, in order; `detail` is its sorted JSON
COLUMNS = ("id", "at", "actor", "actor_name", "action", "run_id", "detail", "prev", "hash")


def read(db: Database, run_id: int | None = None) -> list[dict[str, Any]]:
    """The audit rows, oldest first (of one run, when given), each with its link and hash."""
    with db.session() as s:
        query = select(AuditRow).order_by(AuditRow.id)
        if run_id is not None:
            query = query.where(AuditRow.run_id == run_id)
        return [fields_of(row) for row in s.scalars(query)]


@dataclass(frozen=True)
class Verdict:
    """The chain as verified: how many rows hold, the hash of the last of them, and the first break."""

    rows: int
    head: str
    broken: Break | None

    def __str__(self) -> str:
        if self.broken is None:
            return f"the audit trail holds: {self.rows} rows chained, the last one's hash is {self.head}"
        return (
            f"the audit trail is BROKEN at {self.broken}; the {self.rows} rows before it hold. "
            "Someone changed the database: compare it with a backup."
        )


def verify(db: Database) -> Verdict:
    """Walk the whole chain in id order; the first row whose hash or link breaks is the verdict."""
    return verify_rows(read(db))


def verify_rows(rows: Iterable[Mapping[str, Any]]) -> Verdict:
    """The verdict on rows as exported (the whole chain, from its first row)."""
    count, head, broken = check(rows)
    return Verdict(count, head, broken)


def render(rows: Iterable[Mapping[str, Any]], fmt: str) -> str:
    """Rows as JSON Lines (one object per row) or CSV (RFC 4180, formulas neutralised)."""
    return "".join(jsonl_lines(rows) if fmt == "jsonl" else csv_lines(rows))


def jsonl_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(dict(row), ensure_ascii=False, sort_keys=True) + "\n"


def csv_lines(rows: Iterable[Mapping[str, Any]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([csv_cell(_cell(row.get(column))) for column in COLUMNS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()  # the header, when there were no rows


def parse_jsonl(content: str) -> list[dict[str, Any]]:
    """Rows back from a JSON Lines export (to verify a file)."""
    return [json.loads(line) for line in content.splitlines() if line.strip()]


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)
