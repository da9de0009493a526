"""`regclean doctor` against the whole sandbox: it passes, names each fault with exit 1, and changes nothing.

One sandbox serves every case: the test flips fault switches in different areas together and runs
the CLI between, so that each fault is named by its own check and no other check fails with it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.doctor.minio import PROBE
from sandbox.kube.access import PATH as REVIEWS
from sandbox.nodes.keys import write_private_key
from sandbox.platform_web import PlatformConsole
from sandbox.stack import Sandbox

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
async def console(tmp_path: Path) -> AsyncIterator[PlatformConsole]:
    web = PlatformConsole(tmp_path / "console")
    await web.start()
    yield web
    await web.stop()


async def doctor(box: Sandbox, console: PlatformConsole, **extra: str) -> tuple[int, dict[str, Any], str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "REGCLEAN_", "KUBECONFIG"))}
    env = {
        **clean,
        **box.environment("http"),
        "REGCLEAN_PLATFORM_URL": console.url,
        "REGCLEAN_REGISTRY_CA_FILE": str(console.ca.ca_file),
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "doctor", "--format", "json",
        env=env, cwd=box.workdir, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, json.loads(out or b"{}"), err.decode()


def failed(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(c["area"], c["name"]): c["detail"] for c in report["checks"] if c["status"] == "fail"}


def trees(box: Sandbox) -> dict[str, tuple[int, int]]:
    """Every file and directory under every node's root, each file with its size and modification
    time (a directory's own mtime moves with the test's renames; its entries are listed here anyway)."""
    out = {}
    for node in box.nodes.nodes.values():
        for path in sorted(node.root.rglob("*")):
            stat = path.lstat()
            out[str(path)] = (0, 0) if path.is_dir() else (stat.st_size, stat.st_mtime_ns)
    return out


def bucket(box: Sandbox) -> list[tuple[str, int]]:
    client = box.s3.client()
    try:
        pages = client.get_paginator("list_objects_v2").paginate(Bucket="registry")
        return sorted((o["Key"], o["Size"]) for page in pages for o in page.get("Contents", []))
    finally:
        client.close()


def read_only_exec(argv: list[str]) -> bool:
    """What the doctor may run in a pod: its probe, `mc version info` / `mc du`, `cat` of the registry's config."""
    if argv[:3] == ["sh", "-c", PROBE]:
        return True
    if argv[:2] == ["sh", "-c"] and len(argv) == 3:
        mc = argv[2].split("&&")[-1]
        return " rm " not in mc and (" version info " in mc or " du " in mc)
    return argv[0] == "cat" and len(argv) == 2


@pytest.mark.timeout(600)
async def test_doctor_passes_names_each_fault_and_changes_nothing(
    sandbox: Sandbox, console: PlatformConsole, tmp_path: Path
) -> None:
    box = sandbox
    before_tree, before_bucket = trees(box), bucket(box)

    code, report, err = await doctor(box, console)
    assert code == 0, (failed(report), err)
    areas = {c["area"] for c in report["checks"]}
    assert areas == {"slack", "kubernetes", "minio", "registry", "nodes", "installer", "platform"}
    warned = {c["name"] for c in report["checks"] if c["status"] == "warn"}
    assert warned == {"upload.sh password", "violet password"}, (
        "the sandbox gives violet a password, no token"
    )

    # Faults in different areas at once (each run of the CLI costs seconds of CPU): each is named by
    # its own check, and nothing else fails.
    # An unknown host key (the node presents another one), violet missing on the installer node,
    # wrong registry credentials, and a Slack token without a scope the manifest asks for.
    node = box.nodes.nodes["127.0.0.12"]
    node.replace_host_key(tmp_path / "other-host-key")
    write_private_key(tmp_path / "other-host-key")
    hidden = box.violet.with_name("violet.away")
    box.violet.rename(hidden)
    box.slack.scopes.discard("files:write")
    code, report, _ = await doctor(box, console, REGCLEAN_REGISTRY_PASSWORD="not-the-password")
    node.clear_faults()
    hidden.rename(box.violet)
    box.slack.scopes.add("files:write")
    assert code == 1 and sorted(failed(report)) == [
        ("installer", "violet"),
        ("nodes", "127.0.0.12 host key"),
        ("registry", "credentials"),
        ("slack", "scopes"),
    ]
    assert failed(report)[("slack", "scopes")] == "the token lacks files:write"
    assert "not-the-password" not in json.dumps(report)

    # RBAC without pod delete, and a backup disk too small for the archive (the backup's own
    # "no space" check, with a margin no disk meets); every node reachable this time.
    box.kube.access.deny("delete", "pods", "kube-system")
    code, report, _ = await doctor(box, console, REGCLEAN_BACKUP_MARGIN_PERCENT="10000000")
    box.kube.access.allow_all()
    assert code == 1 and sorted(failed(report)) == [
        ("kubernetes", "delete pods in kube-system"),
        *[("nodes", f"127.0.0.1{i} backup space") for i in (1, 2, 3)],
    ]
    assert all("free; the archive needs" in d for (area, _), d in failed(report).items() if area == "nodes")

    # nothing changed, anywhere
    writes = [(m, p) for m, p in box.kube.requests if m != "GET" and not (m == "POST" and p == REVIEWS)]
    assert writes == []
    assert len([p for m, p in box.kube.requests if m == "POST"]) > 0, "the reviews were asked"
    assert box.exec.started and all(read_only_exec(argv) for argv in box.exec.started), box.exec.started
    assert trees(box) == before_tree
    assert bucket(box) == before_bucket
    assert box.slack.messages == []
    assert console.requests and all(m == "GET" for m, _ in console.requests)
