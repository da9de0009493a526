"""The rollback plan: stop everywhere, restore each node from its verified archive, start; or refuse."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from actions.backup import NodeBackup
from bot.config.settings import Settings
from bot.core.errors import RunbookError
from bot.rollback import START_PLACEHOLDER, rollback_plan

NOW = datetime(2026, 12, 3, tzinfo=UTC)


def backup(address: str, *, verified: bool = True) -> NodeBackup:
    sha = "ab" * 32 if verified else None
    return NodeBackup(
        f"m-{address}", address, f"/cpaas/backup/{address}-minio.tar", 10, 5, sha, verified, None, NOW
    )


def test_each_node_is_checked_moved_aside_extracted_and_compared_between_one_stop_and_one_start() -> None:
    settings = Settings.load(
        {
            "REGCLEAN_MINIO_STOP_COMMAND": "systemctl stop minio",
            "REGCLEAN_NODE_OVERRIDES": '{"10.0.0.2": {"minio_dir": "/data/my minio"}}',
        }
    )
    plan = rollback_plan(settings, 7, [backup("10.0.0.2"), backup("10.0.0.1")])
    assert [n.address for n in plan.nodes] == ["10.0.0.1", "10.0.0.2"]
    assert plan.stop == "systemctl stop minio" and plan.start == START_PLACEHOLDER
    first, second = (n.commands() for n in plan.nodes)
    assert first[0].endswith("| sha256sum --check --strict -") and "ab" * 32 in first[0]
    assert first[1] == "mv -- /cpaas/minio /cpaas/minio.before-rollback-run7"
    assert second[1] == "mv -- '/data/my minio' '/data/my minio.before-rollback-run7'", "quoted, per node"
    assert (
        first[2]
        == "tar --extract --preserve-permissions --same-owner --file=/cpaas/backup/10.0.0.1-minio.tar -C /"
    )
    assert first[3].startswith("tar --diff")
    text = plan.text()
    assert (
        text.index("systemctl stop minio") < text.index("10.0.0.1-minio.tar") < text.index("mc --insecure du")
    )


def test_no_backup_or_an_unverified_one_is_refused() -> None:
    settings = Settings.load({})
    with pytest.raises(RunbookError, match="no backup"):
        rollback_plan(settings, 1, [])
    with pytest.raises(RunbookError, match=r"not verified on 10\.0\.0\.2"):
        rollback_plan(settings, 1, [backup("10.0.0.1"), backup("10.0.0.2", verified=False)])
