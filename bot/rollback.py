"""The rollback plan: how to put `/cpaas/minio` back from the run's verified archives.

regclean never runs it. It is printed (`regclean rollback --plan`) for the people on duty, and
the approval request and the final report point to it. MinIO serves one bucket from the
directories of every control-plane node, so it is stopped everywhere before any directory is
replaced, and started once every node holds its archive again (docs/architecture.md, "Rollback").

Per node, in order: check the archive's sha256, move the current directory aside (nothing is
deleted), extract the archive where it came from (`tar` stored the absolute path without its
leading `/`), and compare the directory with the archive (`tar --diff`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from actions.backup import NodeBackup
from bot.config.settings import Settings
from bot.core.errors import RunbookError

STOP_PLACEHOLDER = (
    "# Stop MinIO on every control-plane node (set REGCLEAN_MINIO_STOP_COMMAND to print it here)"
)
START_PLACEHOLDER = (
    "# Start MinIO on every control-plane node (set REGCLEAN_MINIO_START_COMMAND to print it here)"
)


@dataclass(frozen=True)
class NodeRollback:
    """One node's part of the rollback: its archive and the commands that restore from it."""

    node: str
    address: str
    archive: str
    sha256: str
    minio_dir: str
    aside: str
    """Where the current directory is moved, kept until the restore is verified."""

    def commands(self) -> list[str]:
        """The shell commands, run as root on the node, each to be checked before the next."""
        archive, minio, aside = (shlex.quote(p) for p in (self.archive, self.minio_dir, self.aside))
        return [
            f"echo {shlex.quote(self.sha256 + '  ' + self.archive)} | sha256sum --check --strict -",
            f"mv -- {minio} {aside}",
            f"tar --extract --preserve-permissions --same-owner --file={archive} -C /",
            f"tar --diff --file={archive} -C /",
        ]

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "node": self.node,
            "address": self.address,
            "archive": self.archive,
            "sha256": self.sha256,
            "minio_dir": self.minio_dir,
            "aside": self.aside,
            "commands": self.commands(),
        }


@dataclass(frozen=True)
class RollbackPlan:
    """Stop MinIO everywhere, restore every node, start MinIO, check the bucket."""

    run_id: int
    stop: str
    nodes: tuple[NodeRollback, ...]
    start: str
    check: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (`regclean rollback --plan --format json`)."""
        return {
            "run": self.run_id,
            "stop": self.stop,
            "nodes": [n.as_dict() for n in self.nodes],
            "start": self.start,
            "check": self.check,
        }

    def text(self) -> str:
        """The plan as a person follows it."""
        lines = [
            f"# Rollback of run #{self.run_id}: put /cpaas/minio back on every node from its verified archive.",
            "# Run each command as root and check it succeeded before the next. Nothing is deleted:",
            "# the current directories are moved aside.",
            "",
            "## 1. Stop MinIO on every control-plane node before any directory is replaced",
            self.stop,
        ]
        for i, node in enumerate(self.nodes, start=2):
            lines += [
                "",
                f"## {i}. On {node.node} ({node.address}): archive {node.archive}",
                *node.commands(),
            ]
        lines += [
            "",
            f"## {len(self.nodes) + 2}. Start MinIO again, then check the bucket in a MinIO pod",
            self.start,
            self.check,
        ]
        return "\n".join(lines) + "\n"


def rollback_plan(settings: Settings, run_id: int, backups: list[NodeBackup]) -> RollbackPlan:
    """The plan from `backups` (the archives the run's purge was approved with, else its newest
    backup); refuses when a node has no verified archive."""
    if not backups:
        raise RunbookError(f"Run #{run_id} has no backup, so there is nothing to roll back to.")
    unverified = [b.address for b in backups if not b.verified or not b.sha256]
    if unverified:
        raise RunbookError(
            f"Run #{run_id}'s newest backup is not verified on {', '.join(unverified)}: a rollback from it "
            "could not be trusted. Use the archives of an earlier verified backup, checked by hand."
        )
    nodes = []
    for b in sorted(backups, key=lambda b: b.address):
        override = settings.node_overrides.get(b.address)
        minio_dir = (override and override.minio_dir) or settings.minio_dir
        directory = PurePosixPath(minio_dir)
        aside = str(directory.with_name(f"{directory.name}.before-rollback-run{run_id}"))
        assert b.sha256 is not None
        nodes.append(NodeRollback(b.node, b.address, b.archive, b.sha256, minio_dir, aside))
    check = (
        f". {shlex.quote(settings.minio_env_file)} && mc --insecure alias set minio "
        f'{shlex.quote(settings.minio_url)} "$MINIO_ACCESS_KEY" "$MINIO_SECRET_KEY" && '
        f"mc --insecure du {shlex.quote('minio/' + settings.minio_bucket)}"
    )
    return RollbackPlan(
        run_id,
        settings.minio_stop_command or STOP_PLACEHOLDER,
        tuple(nodes),
        settings.minio_start_command or START_PLACEHOLDER,
        check,
    )
