"""The `regclean` command: clear errors, never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from sandbox.kube import KubeApiServer
from tests.conftest import operatorview, pluginview
from tests.databases import open_store

ROOT = Path(__file__).resolve().parents[3]


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REGCLEAN_", "KUBECONFIG"))}


def regclean(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        env={**_clean_env(), "PYTHONPATH": str(ROOT), **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_without_a_bot_token_names_the_setting(tmp_path: Path) -> None:
    result = regclean("serve", env={}, cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_without_a_connection_mode_says_how_to_choose_one(tmp_path: Path) -> None:
    result = regclean("serve", env={"SLACK_BOT_TOKEN": "xoxb-canary-token"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr and "SLACK_APP_TOKEN" in result.stderr
    assert "xoxb-canary-token" not in result.stderr + result.stdout


def test_inventory_with_a_missing_kubeconfig_fails_clearly(tmp_path: Path) -> None:
    env = {"KUBECONFIG": str(tmp_path / "missing"), "DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"}
    result = regclean("inventory", env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "No usable Kubernetes configuration" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_malformed_setting_is_named(tmp_path: Path) -> None:
    result = regclean("inventory", env={"REGCLEAN_INVENTORY_PAGE_SIZE": "lots"}, cwd=tmp_path)
    assert result.returncode == 2
    assert "REGCLEAN_INVENTORY_PAGE_SIZE" in result.stderr


async def test_inventory_records_into_the_store_and_prints_json(
    tmp_path: Path, kubeconfig: Path, kube_api: KubeApiServer
) -> None:
    kube_api.load([operatorview("rds-operator"), pluginview("argocd", installed=[("global", "v1")])])
    db = tmp_path / "db"
    env = {
        **_clean_env(),
        "KUBECONFIG": str(kubeconfig),
        "DATABASE_URL": f"sqlite:///{db}",
        "PYTHONPATH": str(ROOT),
    }
    # The simulated API serves from this test's event loop, so the CLI must run beside it.
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "inventory",
        "--format",
        "json",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    doc = json.loads(out)
    assert doc["operators"][0]["name"] == "rds-operator"
    assert doc["plugins"][0]["installed"] == [{"cluster": "global", "version": "v1"}]
    snapshot = open_store(f"sqlite:///{db}").latest_inventory()
    assert snapshot is not None and snapshot.recorded_by.startswith("cli:")
