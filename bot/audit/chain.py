"""The audit log's hash chain (docs/architecture.md, "The audit trail").

Every audit row carries `prev`, the sha256 of the row before it, and `hash`, the sha256 of its own
canonical serialisation (which includes `prev`). Editing a row breaks its own hash; deleting one
breaks the link of the row after it.

The chain is computed in one place: `seal`, a `before_flush` hook on the store's sessions, so every
writer (the store, each step's records) chains its rows without knowing it. Under concurrent writers
the chain must not fork, so `seal` first takes the audit log's lock for the rest of the transaction
(PostgreSQL: an advisory transaction lock; SQLite: its write lock, by a write that changes nothing),
then reads the last row, then gives each new row the next id and the link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from bot.audit.actors import name_of
from bot.store.schema import AuditRow, aware

#: `prev` of the first row
GENESIS = "0" * 64

#: the PostgreSQL advisory lock that serialises audit writers ("regc" in ASCII)
ADVISORY_KEY = 0x72656763


def canonical(fields: Mapping[str, Any]) -> bytes:
    """The bytes a row's hash is taken of: its fields as sorted, compact JSON, the time in UTC ISO."""
    at = fields["at"]
    doc = {
        "id": fields["id"],
        "at": at if isinstance(at, str) else utc_iso(at),
        "actor": fields["actor"],
        "actor_name": fields.get("actor_name"),
        "action": fields["action"],
        "run_id": fields.get("run_id"),
        "detail": fields.get("detail") or {},
        "prev": fields["prev"],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(fields: Mapping[str, Any]) -> str:
    """The sha256 (hex) of a row's canonical serialisation."""
    return hashlib.sha256(canonical(fields)).hexdigest()


def utc_iso(at: datetime) -> str:
    """A stored time as the chain writes it: UTC, ISO 8601, to the microsecond."""
    return aware(at).astimezone(UTC).isoformat(timespec="microseconds")


def fields_of(row: AuditRow) -> dict[str, Any]:
    """A stored row as the dict `canonical` reads (and the export writes)."""
    return {
        "id": row.id,
        "at": utc_iso(row.at),
        "actor": row.actor,
        "actor_name": row.actor_name,
        "action": row.action,
        "run_id": row.run_id,
        "detail": dict(row.detail or {}),
        "prev": row.prev,
        "hash": row.hash,
    }


@dataclass(frozen=True)
class Break:
    """Where the chain breaks: the row's id, and what is wrong with it."""

    row: int
    problem: str

    def __str__(self) -> str:
        return f"audit row {self.row}: {self.problem}"


def check(rows: Iterable[Mapping[str, Any]]) -> tuple[int, str, Break | None]:
    """Walk rows in id order: (rows read, the last good hash, the first break or None).

    The rows must be the whole chain from its first row (a run's rows alone are not linked).
    """
    expected_prev, count = GENESIS, 0
    for fields in rows:
        row_id = int(fields["id"])
        if fields.get("hash") is None or fields.get("prev") is None:
            return count, expected_prev, Break(row_id, "it carries no hash: regclean did not write it")
        if row_hash(fields) != fields["hash"]:
            return (
                count,
                expected_prev,
                Break(row_id, "it was changed after it was written (its hash differs)"),
            )
        if fields["prev"] != expected_prev:
            # the row is as written, so the row it was written after is no longer before it
            return (
                count,
                expected_prev,
                Break(row_id, "the row written before it was deleted (its link is broken)"),
            )
        expected_prev, count = str(fields["hash"]), count + 1
    return count, expected_prev, None


def seal(session: Session, _context: object, _instances: object) -> None:
    """`before_flush`: give each new audit row its id, its actor's name, its link and its hash."""
    new = [obj for obj in session.new if isinstance(obj, AuditRow)]
    if not new:
        return
    new.sort(key=lambda obj: inspect(obj).insert_order or 0)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
    else:  # SQLite: take the write lock now, so that the last row read below stays the last
        connection.execute(text("UPDATE audit SET id = id WHERE 0"))
    last = connection.execute(
        select(AuditRow.id, AuditRow.hash).order_by(AuditRow.id.desc()).limit(1)
    ).first()
    last_id, prev = (int(last.id), str(last.hash or GENESIS)) if last is not None else (0, GENESIS)
    for row in new:
        last_id += 1
        row.id = last_id
        row.at = aware(row.at).astimezone(UTC)
        row.detail = json.loads(json.dumps(dict(row.detail or {}), default=str))  # stored as hashed
        if row.actor_name is None:
            row.actor_name = name_of(row.actor)
        row.prev = prev
        row.hash = prev = row_hash(fields_of(row))
    if connection.dialect.name == "postgresql":  # the release before inserts by the sequence: keep it ahead
        connection.execute(text("SELECT setval(pg_get_serial_sequence('audit', 'id'), :id)"), {"id": last_id})
