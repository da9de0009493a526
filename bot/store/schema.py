"""The database schema of the store, and the engine that opens it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class RunRow(Base):
    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    opened_by: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    notifier_ref: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StepRow(Base):
    __tablename__ = "steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


# At most one active run, and at most one running attempt of a step per run, enforced by the database
# itself: two processes (or two threads) that both see no running step cannot both insert one
# (docs/architecture.md, "The run's state machine").
ONE_RUNNING_STEP = Index(
    "one_running_step",
    StepRow.run_id,
    StepRow.name,
    unique=True,
    sqlite_where=StepRow.state == "running",
    postgresql_where=StepRow.state == "running",
)
ONE_ACTIVE_RUN = Index(
    "one_active_run",
    RunRow.state,
    unique=True,
    sqlite_where=RunRow.state == "active",
    postgresql_where=RunRow.state == "active",
)


class InventoryRow(Base):
    __tablename__ = "inventories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(64))
    data: Mapped[str] = mapped_column(Text)


class AuditRow(Base):
    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    run_id: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # since revision 0009: the actor's name, and the hash chain (bot/audit/chain.py fills all three)
    actor_name: Mapped[str | None] = mapped_column(String(128))
    prev: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class BackupRow(Base):
    """One node's archive from a backup step: what the purge gate checks."""

    __tablename__ = "backups"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    node: Mapped[str] = mapped_column(String(253))
    address: Mapped[str] = mapped_column(String(64))
    archive: Mapped[str] = mapped_column(Text)
    bytes: Mapped[int | None] = mapped_column(Integer)
    entries: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str | None] = mapped_column(String(64))
    verified: Mapped[bool] = mapped_column(Boolean)
    problem: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    copy: Mapped[str | None] = mapped_column(Text)
    # since revision 0003: what a backup of the live MinIO tolerated, left out, and how often it ran
    tolerated: Mapped[list[str] | None] = mapped_column(JSON)
    excluded: Mapped[list[str] | None] = mapped_column(JSON)
    attempts: Mapped[int | None] = mapped_column(Integer)
    first_attempt: Mapped[list[str] | None] = mapped_column(JSON)


class ApprovalRequestRow(Base):
    """A request to purge: the plan, its fingerprint, and where it stands (docs/architecture.md,
    "The two-person rule")."""

    __tablename__ = "approval_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    requester: Mapped[str] = mapped_column(String(64))
    fingerprint: Mapped[str] = mapped_column(String(64))
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    required: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_ref: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Where the request was posted (channel and ts), so that updates find it after a restart."""
    # since revision 0006: the bucket as measured when the request was made (not fingerprinted)
    measured: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ApprovalRow(Base):
    """One approver's approval; the unique key makes a second click by the same person count once."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("request_id", "approver"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"), index=True)
    approver: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class PreflightRow(Base):
    """What a preflight read: packages, the registry's catalog, workload images."""

    __tablename__ = "preflights"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_by: Mapped[str] = mapped_column(String(64))
    installer_node: Mapped[str] = mapped_column(String(253))
    plugin_dir: Mapped[str] = mapped_column(Text)
    packages: Mapped[list[str]] = mapped_column(JSON)
    registry_address: Mapped[str] = mapped_column(String(253))
    repositories: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    custom: Mapped[list[str]] = mapped_column(JSON)
    workload_images: Mapped[list[str]] = mapped_column(JSON)
    custom_ack_by: Mapped[str | None] = mapped_column(String(64))
    custom_ack_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # since revision 0002: what violet showed and verified, and who used each custom tag
    packages_shown: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    verification: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    verify_ack_by: Mapped[str | None] = mapped_column(String(64))
    verify_ack_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    custom_workloads: Mapped[dict[str, list[str]] | None] = mapped_column(JSON)
    # since revision 0005: the registry's configuration and how its cache will be cleared
    registry_cache: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class PurgeRow(Base):
    """What a purge did: the bucket before and after, and the registry restart."""

    __tablename__ = "purges"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    request_id: Mapped[int] = mapped_column(ForeignKey("approval_requests.id"))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ResultRow(Base):
    """One step's structured result (a plugin restore or a verification), as JSON."""

    __tablename__ = "step_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    kind: Mapped[str] = mapped_column(String(32))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExportRow(Base):
    """One custom tag as an export wrote it, and its latest verification (revision 0007)."""

    __tablename__ = "image_exports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("steps.id"))
    location: Mapped[str] = mapped_column(Text)
    tag: Mapped[str] = mapped_column(Text)
    digest: Mapped[str | None] = mapped_column(String(128))
    media_type: Mapped[str | None] = mapped_column(String(255))
    manifests: Mapped[int | None] = mapped_column(Integer)
    blobs: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int | None] = mapped_column(Integer)
    exported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    problem: Mapped[str | None] = mapped_column(Text)


class WaiverRow(Base):
    """An approver's waiver of one custom tag: the purge may delete it unexported (revision 0007)."""

    __tablename__ = "image_waivers"
    __table_args__ = (UniqueConstraint("run_id", "tag"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    tag: Mapped[str] = mapped_column(Text)
    approver: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WindowRow(Base):
    """A window a person declared with `/regclean window START DURATION`."""

    __tablename__ = "windows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    declared_by: Mapped[str] = mapped_column(String(64))
    declared_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LeaseRow(Base):
    """Who runs the steps and the scheduler on this database, until when (`bot/store/lease.py`)."""

    __tablename__ = "runner_lease"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    acquired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ScheduledJobRow(Base):
    """A scheduled job as data (`bot/store/jobs.py`): read as text and checked before anything runs."""

    __tablename__ = "scheduled_jobs"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    args: Mapped[str] = mapped_column(Text)
    run_at: Mapped[str] = mapped_column(String(40))
    misfire_grace: Mapped[int | None] = mapped_column(Integer)


def aware(value: datetime) -> datetime:
    """SQLite forgets time zones: give a stored UTC time back as aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def maybe_aware(value: datetime | None) -> datetime | None:
    """`aware`, for a time that may be missing."""
    return None if value is None else aware(value)
