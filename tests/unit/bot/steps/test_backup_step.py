"""BackupStep alone: without a plan, with a plan the settings cannot make, and with a node that is down."""

from __future__ import annotations

from pathlib import Path

from actions.backup import BackupRequest, NodeSpec
from bot.core.model import StepState
from bot.steps.backup.plan import backup_planner, ssh_target
from bot.steps.backup.step import BackupStep
from sandbox.nodes.keys import generate_keys
from tests.unit.bot.steps.context import ALICE, no_kube, refused_port, step_context


async def test_without_a_planner_the_step_fails_and_says_so(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        step, result = await BackupStep(f.ctx, None).back_up_now(ALICE)
        assert result is None and step.state is StepState.FAILED
        assert step.error == "This regclean was built without a backup plan."
        [(failed, requester)] = f.notifier.of("failed")
        assert failed.id == step.id and requester == ALICE
        assert f.store.latest_backups(step.run_id) == [] and f.notifier.of("backup") == []


async def test_a_plan_the_settings_cannot_make_names_the_missing_settings(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        step, result = await BackupStep(f.ctx, backup_planner(f.ctx.settings, no_kube)).back_up_now(ALICE)
        assert result is None and step.state is StepState.FAILED
        assert step.error is not None
        for name in ("REGCLEAN_SSH_KEY", "REGCLEAN_SSH_KNOWN_HOSTS", "REGCLEAN_BACKUP_DIR"):
            assert name in step.error


async def test_a_node_that_cannot_be_reached_fails_the_step_naming_it(tmp_path: Path) -> None:
    keys = generate_keys(tmp_path / "keys", [])
    with refused_port() as port:
        env = {
            "REGCLEAN_SSH_KEY": str(keys.client_key),
            "REGCLEAN_SSH_KNOWN_HOSTS": str(keys.known_hosts),
            "REGCLEAN_SSH_CONNECT_TIMEOUT": "5",
            "REGCLEAN_BACKUP_DIR": "/cpaas/backup",
        }
        with step_context(tmp_path, env) as f:
            target = ssh_target(f.ctx.settings, "127.0.0.1", port)

            async def plan() -> BackupRequest:
                return BackupRequest((NodeSpec("master-1", target, "/cpaas/minio", "/cpaas/backup"),))

            step, result = await BackupStep(f.ctx, plan).back_up_now(ALICE)
            assert result is not None and not result.verified
            assert step.state is StepState.FAILED and step.summary == "0 of 1 nodes verified"
            assert step.error is not None
            assert step.error.startswith("0 of 1 nodes verified. master-1: ")
            assert f"127.0.0.1:{port}" in step.error
            [stored] = f.store.latest_backups(step.run_id)
            assert (stored.node, stored.verified) == ("master-1", False)
            assert stored.archive == "/cpaas/backup/127.0.0.1-minio.tar"
            assert [n.phase for n in f.notifier.of("backup_progress")[-1]] == ["failed"]
            assert len(f.notifier.of("backup")) == 1 and len(f.notifier.of("failed")) == 1
