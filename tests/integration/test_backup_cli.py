"""`regclean backup`: node discovery, the JSON shape, and the exit status."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from actions.errors import NodesMismatch
from actions.kube import KubeClient
from actions.nodes import control_plane_nodes
from sandbox.kube import KubeApiServer
from sandbox.kube.fixtures import load_fixture
from sandbox.nodes import SandboxCluster

ROOT = Path(__file__).resolve().parents[2]


async def regclean_backup(env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REGCLEAN_", "KUBECONFIG"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "backup",
        "--format",
        "json",
        env={**clean, "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


def cli_env(cluster: SandboxCluster, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "REGCLEAN_SSH_KEY": str(cluster.keys.client_key),
        "REGCLEAN_SSH_KNOWN_HOSTS": str(cluster.keys.known_hosts),
        "REGCLEAN_SSH_CONNECT_TIMEOUT": "5",
        "REGCLEAN_BACKUP_DIR": "/cpaas/backup",
        "REGCLEAN_NODES": ",".join(f"{n.address}:{n.port}" for n in cluster.nodes.values()),
        "REGCLEAN_NODE_OVERRIDES": json.dumps(
            {
                n.address: {"minio_dir": str(n.minio_dir), "backup_dir": str(n.backup_dir)}
                for n in cluster.nodes.values()
            }
        ),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'regclean.db'}",
        **extra,
    }


async def test_backup_prints_the_documented_json_and_exits_0_when_all_are_verified(
    cluster: SandboxCluster, tmp_path: Path
) -> None:
    code, out, err = await regclean_backup(cli_env(cluster, tmp_path), tmp_path)
    assert code == 0, err
    doc = json.loads(out)
    assert list(doc) == ["schema", "run", "nodes"] and doc["schema"] == 1 and doc["run"] == 1
    assert "opened run #1 in the bot's database: it has no channel (SLACK_CHANNEL is not set)" in err
    keys = ["node", "address", "archive", "bytes", "entries", "sha256", "verified", "problem"]
    assert [list(n) for n in doc["nodes"]] == [
        [*keys, "tolerated", "excluded", "attempts", "first_attempt"]
    ] * 3
    assert all(n["attempts"] == 1 and n["excluded"][0].startswith(".minio.sys/tmp: ") for n in doc["nodes"])
    assert [n["address"] for n in doc["nodes"]] == ["127.0.0.11", "127.0.0.12", "127.0.0.13"]
    assert all(n["verified"] and n["problem"] is None and len(n["sha256"]) == 64 for n in doc["nodes"])


async def test_backup_exits_1_when_a_node_is_not_verified(cluster: SandboxCluster, tmp_path: Path) -> None:
    cluster.nodes["127.0.0.13"].refuse()
    code, out, _ = await regclean_backup(cli_env(cluster, tmp_path), tmp_path)
    assert code == 1
    nodes = {n["address"]: n for n in json.loads(out)["nodes"]}
    assert nodes["127.0.0.13"]["verified"] is False and "Cannot reach" in nodes["127.0.0.13"]["problem"]
    assert nodes["127.0.0.11"]["verified"] is True


async def test_backup_without_its_settings_names_them(tmp_path: Path) -> None:
    code, _, err = await regclean_backup({"DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"}, tmp_path)
    assert code == 1
    assert "REGCLEAN_SSH_KEY, REGCLEAN_SSH_KNOWN_HOSTS, REGCLEAN_BACKUP_DIR" in err
    assert "Traceback" not in err


async def test_discovery_finds_control_plane_and_master_nodes_by_internal_ip(tmp_path: Path) -> None:
    fixture = load_fixture()
    server = KubeApiServer(fixture.objects, resources=fixture.resources)
    await server.start()
    try:
        kube = KubeClient.from_config(str(server.write_kubeconfig(tmp_path / "kc")))
        nodes = await control_plane_nodes(kube, expected=3)
        with pytest.raises(NodesMismatch) as refused:
            await control_plane_nodes(kube, expected=5)
    finally:
        await server.stop()
    assert [(n.name, n.address) for n in nodes] == [
        ("acp-global-m1", "127.0.0.11"),
        ("acp-global-m2", "127.0.0.12"),
        ("acp-global-m3", "127.0.0.13"),
    ]
    assert "Expected 5 control-plane nodes; found 3: acp-global-m1 (127.0.0.11)" in str(refused.value)
