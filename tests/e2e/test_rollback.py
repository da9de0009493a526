"""The rollback plan, followed by hand after a purge, puts every object back on every node.

The sandbox's MinIO API is moto, whose objects do not live in the nodes' directories. The nodes'
`/cpaas/minio` trees stand in for MinIO's disks: after the purge emptied the bucket through the
API, the test deletes the bucket's files on every node as MinIO would, follows the printed plan
command by command over SSH, as the person on duty would, and compares the sha256 of every object
file with what the nodes held when they were backed up.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from actions.ssh import SshTarget, connect
from bot.cli import main
from sandbox.stack import Sandbox, running_bot
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import purged, step_line

pytestmark = [pytest.mark.e2e, pytest.mark.lean, *NEEDS_REGISTRY_AND_SKOPEO]


def objects(minio_dir: Path) -> dict[str, str]:
    """sha256 of every file of the buckets (MinIO's own `.minio.sys` left aside)."""
    return {
        str(p.relative_to(minio_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(minio_dir.rglob("*"))
        if p.is_file() and not p.relative_to(minio_dir).parts[0].startswith(".minio.sys")
    }


async def test_following_the_rollback_plan_after_a_purge_brings_every_object_back(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    nodes = list(sandbox.nodes.nodes.values())
    stopped = sandbox.workdir / "minio-stopped"
    async with running_bot(sandbox, "http") as bot:
        await purged(bot, sandbox)
        await sandbox.slack.wait_for(lambda w: step_line(w, "✅", "Purge"))
        request = next(m for m in sandbox.slack.messages if "Purge request #" in text_of(m))
        assert "regclean rollback --plan" in text_of(request), "the approvers see how it would be undone"
        # A backup after the purge gets names of its own; the rollback still goes to the approved archives.
        await bot.driver.slash("UALICE", "backup")
        await sandbox.slack.wait_for(
            lambda w: any(text_of(m).count("-minio.run") == 3 for m in w.messages), timeout=60
        )
    held = {node.address: objects(node.minio_dir) for node in nodes}
    assert all(len(files) > 100 for files in held.values())
    for node in nodes:  # what the purge did to MinIO's disks
        for bucket in (p for p in node.minio_dir.iterdir() if not p.name.startswith(".minio.sys")):
            shutil.rmtree(bucket)
        assert objects(node.minio_dir) == {}

    for key, value in sandbox.environment("http").items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("REGCLEAN_MINIO_STOP_COMMAND", f"touch {stopped}")
    monkeypatch.setenv("REGCLEAN_MINIO_START_COMMAND", f"rm {stopped}")
    assert main(["rollback", "--plan", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [n["address"] for n in plan["nodes"]] == sorted(held)
    assert [Path(n["archive"]).name for n in plan["nodes"]] == [f"{a}-minio.tar" for a in sorted(held)]
    assert main(["rollback", "--plan"]) == 0
    text = capsys.readouterr().out
    assert text.index("Stop MinIO") < text.index(plan["nodes"][0]["archive"]) < text.index("Start MinIO")

    async def on(address: str, command: str) -> None:
        node = sandbox.nodes.nodes[address]
        keys = sandbox.nodes.keys
        target = SshTarget(
            address=address,
            port=node.port,
            user="root",
            key=keys.client_key,
            known_hosts=keys.known_hosts,
            connect_timeout=5.0,
            command_timeout=120.0,
        )
        async with connect(target) as session:
            done = await session.run_script(command, [])
        assert done.exit_status == 0, (command, done.stdout, done.stderr_tail)

    for node in nodes:
        await on(node.address, plan["stop"])
    assert stopped.exists()
    for entry in plan["nodes"]:
        for command in entry["commands"]:
            await on(entry["address"], command)
    await on(nodes[0].address, plan["start"])
    assert not stopped.exists()

    for node in nodes:
        assert objects(node.minio_dir) == held[node.address], (
            f"{node.address}: every object back, byte for byte"
        )
        assert Path(f"{node.minio_dir}.before-rollback-run1").is_dir(), "the purged directory was kept aside"
