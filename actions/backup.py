"""Runbook step 3: a verified backup of /cpaas/minio on every control-plane node, over SSH.

Stronger than the runbook's size comparison: the archive is written as a hidden partial file,
read back and compared with the directory (entries and bytes), its size checked against its
entries, its sha256 recorded, and only then renamed to `<ip>-minio.tar`. MinIO runs on: what its
scanner rewrites meanwhile is tolerated and listed, its staging directory is left out, and object
data that changed makes the archive invalid, with one more try (`actions.backup_live`).
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath

from actions import backup_scripts as scripts
from actions.backup_checks import (
    BLOCKING_FACTOR,
    RECORD,
    check_live,
    check_matches,
    check_space,
    check_written,
    parse_archive,
    parse_census,
)
from actions.backup_live import BOOKKEEPING, EXCLUDED, Change, ObjectsChanged, excluded_notes, parse_change
from actions.errors import ActionError, RemoteCommandFailed
from actions.ssh import RemoteResult, Session, SshTarget, connect


@dataclass(frozen=True)
class NodeSpec:
    """One node to back up, with its own paths (per-node overrides already applied)."""

    name: str
    """The Kubernetes node name, or the address when nodes come from configuration."""
    target: SshTarget
    minio_dir: str
    backup_dir: str
    archive_name: str | None = None
    """The archive's file name when not the runbook's (the runbook's is named in an approval)."""

    @property
    def archive(self) -> str:
        """`<backup_dir>/<ip>-minio.tar`, as the runbook names it, or `<backup_dir>/<archive_name>`."""
        return str(PurePosixPath(self.backup_dir) / (self.archive_name or f"{self.target.address}-minio.tar"))


@dataclass(frozen=True)
class BackupRequest:
    """What to back up and how."""

    nodes: tuple[NodeSpec, ...]
    margin_percent: float = 10.0
    """Free space required beyond the archive's size."""
    copy_dir: Path | None = None
    """If set, each verified archive is also copied here (SFTP) and its sha256 checked again."""


@dataclass(frozen=True)
class NodeProgress:
    """How far one node has come."""

    node: str
    address: str
    phase: str
    """census, archiving, verifying, copying, done, failed"""
    done: int
    total: int


@dataclass(frozen=True)
class NodeBackup:
    """One node's backup, as the purge gate needs it."""

    node: str
    address: str
    archive: str
    bytes: int | None
    """The archive's size."""
    entries: int | None
    sha256: str | None
    verified: bool
    problem: str | None
    finished_at: datetime
    copy: str | None = None
    """Where the archive was copied off the node, if it was."""
    tolerated: tuple[str, ...] = ()
    """MinIO's bookkeeping that changed while tar read it, each with why that does not matter."""
    excluded: tuple[str, ...] = ()
    """What the archive leaves out, each with why."""
    attempts: int = 1
    """Archive runs made: 2 when object data changed during the first."""
    first_attempt: tuple[str, ...] = ()
    """The object data that changed during the first run, when there was a second."""

    def as_dict(self) -> dict[str, object]:
        """The documented JSON shape of one node."""
        return {
            "node": self.node,
            "address": self.address,
            "archive": self.archive,
            "bytes": self.bytes,
            "entries": self.entries,
            "sha256": self.sha256,
            "verified": self.verified,
            "problem": self.problem,
            "tolerated": list(self.tolerated),
            "excluded": list(self.excluded),
            "attempts": self.attempts,
            "first_attempt": list(self.first_attempt),
        }


@dataclass(frozen=True)
class BackupResult:
    """Every node's backup, in the order of the request."""

    nodes: tuple[NodeBackup, ...]

    @property
    def verified(self) -> bool:
        """Whether every node has a verified backup."""
        return bool(self.nodes) and all(n.verified for n in self.nodes)


Progress = Callable[[NodeProgress], Awaitable[None]]


async def back_up(request: BackupRequest, progress: Progress) -> BackupResult:
    """Back up every node concurrently; one node's failure never loses another's result."""
    results = await asyncio.gather(*(_node(spec, request, progress) for spec in request.nodes))
    return BackupResult(tuple(results))


ATTEMPTS = 2
"""Archive runs per node: a second when object data changed during the first, never a third."""


async def _node(spec: NodeSpec, request: BackupRequest, progress: Progress) -> NodeBackup:
    base = NodeBackup(
        spec.name, spec.target.address, spec.archive, None, None, None, False, None, _now(),
        excluded=excluded_notes(),
    )  # fmt: skip
    try:
        async with connect(spec.target) as session:
            result = await _attempts(session, spec, request, progress, base)
            if request.copy_dir is not None:
                result = await _copy(session, spec, request.copy_dir, result, progress)
    except _Failed as failed:
        await progress(NodeProgress(spec.name, spec.target.address, "failed", 0, 0))
        return replace(failed.node, problem=str(failed.error), finished_at=_now())
    except ActionError as exc:
        await progress(NodeProgress(spec.name, spec.target.address, "failed", 0, 0))
        return replace(base, problem=str(exc), finished_at=_now())
    await progress(NodeProgress(spec.name, spec.target.address, "done", result.bytes or 0, result.bytes or 0))
    return result


class _Failed(Exception):
    """A node's last attempt failed; `node` carries what the attempts found."""

    def __init__(self, node: NodeBackup, error: ActionError) -> None:
        super().__init__(str(error))
        self.node = node
        self.error = error


async def _attempts(
    session: Session, spec: NodeSpec, request: BackupRequest, progress: Progress, base: NodeBackup
) -> NodeBackup:
    """Archive; once more if object data changed while tar read it (a write to the registry then)."""
    first: tuple[str, ...] = ()
    for attempt in range(1, ATTEMPTS + 1):
        node = replace(base, attempts=attempt, first_attempt=first)
        try:
            return await _archive(session, spec, request, progress, node)
        except ObjectsChanged as changed:
            if attempt == ATTEMPTS:
                raise _Failed(node, changed) from None
            first = changed.objects
    raise AssertionError("unreachable")


async def _archive(
    session: Session, spec: NodeSpec, request: BackupRequest, progress: Progress, base: NodeBackup
) -> NodeBackup:
    name = PurePosixPath(spec.archive).name
    address = spec.target.address
    excluded = [path for path, _ in EXCLUDED]
    partial = str(PurePosixPath(spec.backup_dir) / f".{name}.partial-{secrets.token_hex(4)}")
    census = await _run(
        session, scripts.CENSUS, spec.minio_dir, spec.backup_dir, name, partial, BOOKKEEPING, *excluded
    )
    try:
        before, free = parse_census(census.stdout)
        check_space(before, free, request.margin_percent, f"{address}:{spec.backup_dir}")
    except ActionError:
        await _discard(session, partial)
        raise
    total = before.archive_estimate
    await progress(NodeProgress(spec.name, address, "archiving", 0, total))
    checkpoint = max(1, total // RECORD // 200)  # about 200 progress lines per archive

    changes: list[Change] = []

    async def on_stderr(line: str) -> bool:
        change = parse_change(line, spec.minio_dir)
        if change is not None:
            changes.append(change)
            return True
        if "REGCLEAN-PROGRESS" not in line:
            return False
        records = int(line.rsplit(" ", 1)[-1])
        await progress(NodeProgress(spec.name, address, "archiving", min(records * RECORD, total), total))
        return True

    args = [spec.minio_dir, partial, str(checkpoint), str(BLOCKING_FACTOR), BOOKKEEPING, *excluded]
    archived = await session.run_script(scripts.ARCHIVE, args, on_stderr=on_stderr)
    await progress(NodeProgress(spec.name, address, "verifying", total, total))
    measured = parse_archive(archived.stdout, census.stdout)
    try:
        check_written(measured, archived.stderr_tail)
        verdict = check_live(measured, tuple(changes), archived.stderr_tail)
        check_matches(measured)
        assert measured.sha256 is not None and measured.listing is not None
        await _run(session, scripts.KEEP, partial, spec.archive, measured.sha256)
    except ActionError:
        await _discard(session, partial)
        raise
    return replace(
        base,
        bytes=measured.size,
        entries=measured.listing.entries,
        sha256=measured.sha256,
        verified=True,
        finished_at=_now(),
        tolerated=verdict.tolerated,
    )


async def _copy(
    session: Session, spec: NodeSpec, copy_dir: Path, result: NodeBackup, progress: Progress
) -> NodeBackup:
    local = copy_dir / PurePosixPath(spec.archive).name
    total = result.bytes or 0

    async def on_bytes(done: int) -> None:
        await progress(NodeProgress(spec.name, spec.target.address, "copying", done, total))

    await asyncio.to_thread(copy_dir.mkdir, mode=0o700, parents=True, exist_ok=True)  # archives: only ours
    sha = await session.download(spec.archive, local, on_bytes=on_bytes)
    if sha != result.sha256:
        local.unlink(missing_ok=True)
        raise RemoteCommandFailed(
            f"the copy off the node has sha256 {sha}, the archive {result.sha256}; the copy was deleted."
        )
    return replace(result, copy=str(local), finished_at=_now())


async def _run(session: Session, script: str, *args: str) -> RemoteResult:
    result = await session.run_script(script, list(args))
    if result.exit_status != 0:
        reason = next((line for line in result.stdout.splitlines() if line.startswith("ERROR")), None)
        raise RemoteCommandFailed(
            f"{session.target.address}: {_explain(reason, args) if reason else 'a backup command failed'} "
            f"(exit {result.exit_status}; {'; '.join(result.stderr_tail[-3:]) or 'no message'})"
        )
    return result


async def _discard(session: Session, partial: str) -> None:
    # If even this fails, the partial file's hidden name still says it is not a backup.
    with contextlib.suppress(ActionError):
        await session.run_script(scripts.DISCARD, [partial])


def _explain(reason: str, args: tuple[str, ...]) -> str:
    code = reason.split()[1] if len(reason.split()) > 1 else "?"
    return {
        "no_minio_dir": f"the MinIO directory {args[0]} does not exist (REGCLEAN_MINIO_DIR)",
        "backup_inside_minio": f"the backup directory {args[1]} is inside the MinIO directory {args[0]}",
        "backup_dir": f"cannot create the backup directory {args[1]}",
        "realpath": "cannot resolve the directories' paths",
    }.get(code, reason)


def _now() -> datetime:
    return datetime.now(UTC)
