"""`regclean verify`: the JSON shape, the exit status, and a missing setting, in a real process."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.registry import (
    Registry,
    S3Server,
    layout_blobs,
    make_oci_layout,
    push,
)
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]

ROOT = Path(__file__).resolve().parents[2]
CANARY = "canary-verify-password-K3"


async def regclean_verify(env: dict[str, str], cwd: Path, *args: str) -> tuple[int, str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REGCLEAN_", "KUBECONFIG"))}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "verify",
        *args,
        env={**clean, "PYTHONPATH": str(ROOT), "DATABASE_URL": f"sqlite:///{cwd / 'regclean.db'}", **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.fixture
async def registry(s3: S3Server, tmp_path: Path) -> AsyncIterator[Registry]:
    """A registry holding acp/core:latest (two layers) and acp/tool:1 (one layer)."""
    reg = Registry(s3, tmp_path / "registry", password=CANARY)
    try:
        await reg.start()
        await push(make_oci_layout(tmp_path / "core", layers=2, seed=31), reg, "acp/core:latest")
        await push(make_oci_layout(tmp_path / "tool", layers=1, seed=32), reg, "acp/tool:1")
        yield reg
    finally:
        await reg.stop()


def env_of(reg: Registry, **extra: str) -> dict[str, str]:
    return {
        "REGCLEAN_REGISTRY": reg.address,
        "REGCLEAN_REGISTRY_USERNAME": reg.username,
        "REGCLEAN_REGISTRY_PASSWORD": reg.password,
        "REGCLEAN_REGISTRY_INSECURE": "true",
        **extra,
    }


async def test_verify_prints_the_documented_json_and_exits_0_when_all_pull(
    registry: Registry, tmp_path: Path
) -> None:
    code, out, err = await regclean_verify(
        env_of(registry), tmp_path, "--format", "json", "acp/core:latest", f"{registry.address}/acp/tool:1"
    )
    assert code == 0, err
    assert json.loads(out) == {
        "schema": 1,
        "run": None,
        "images": [
            {"image": "acp/core:latest", "pullable": True, "problem": None},
            {"image": f"{registry.address}/acp/tool:1", "pullable": True, "problem": None},
        ],
    }


async def test_verify_exits_1_and_names_what_does_not_pull(registry: Registry, tmp_path: Path) -> None:
    core = make_oci_layout(tmp_path / "core-again", layers=2, seed=31)
    layer = layout_blobs(core)[1]
    hex_ = layer.removeprefix("sha256:")
    registry.s3.client().delete_object(
        Bucket=registry.bucket, Key=f"docker/registry/v2/blobs/sha256/{hex_[:2]}/{hex_}/data"
    )
    await registry.restart()
    code, out, _ = await regclean_verify(
        env_of(registry), tmp_path, "--format", "json", "acp/core:latest", "acp/tool:1", "acp/gone:1"
    )
    assert code == 1
    problems = {i["image"]: i["problem"] for i in json.loads(out)["images"]}
    assert problems == {
        "acp/core:latest": f"missing blob: {layer} of acp/core:latest",
        "acp/tool:1": None,
        "acp/gone:1": "no manifest: acp/gone:1",
    }


async def test_verify_prints_a_table_and_never_the_password(registry: Registry, tmp_path: Path) -> None:
    wrong = "wrong-" + CANARY
    code, out, err = await regclean_verify(
        env_of(registry, REGCLEAN_REGISTRY_PASSWORD=wrong), tmp_path, "acp/core:latest"
    )
    assert code == 1
    header, row = out.splitlines()
    assert header.split() == ["IMAGE", "PULLABLE", "MANIFESTS", "BLOBS", "BYTES", "PROBLEM"]
    assert row.split()[:2] == ["acp/core:latest", "no"] and "auth: " in row
    assert CANARY not in out + err

    code, out, err = await regclean_verify(env_of(registry), tmp_path, "acp/core:latest")
    assert code == 0, err
    blobs = tmp_path / "core" / "blobs" / "sha256"
    size = sum((blobs / d.removeprefix("sha256:")).stat().st_size for d in layout_blobs(tmp_path / "core"))
    assert out.splitlines()[1].split()[:5] == ["acp/core:latest", "yes", "1", "3", str(size)]


async def test_verify_without_a_registry_names_the_setting(tmp_path: Path) -> None:
    code, out, err = await regclean_verify({}, tmp_path, "acp/core:latest")
    assert code == 2
    assert "REGCLEAN_REGISTRY" in err and "Traceback" not in err
    assert out == ""
