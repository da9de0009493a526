"""The backup of every node, against the sandbox's SSH nodes: the good path and every fault."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shutil
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from actions.backup import BackupResult, NodeProgress, Progress, back_up
from sandbox.nodes import STAGING, SandboxCluster, SandboxNode, gate_missing, generate_keys, tree_stats
from tests.integration.conftest import request

ADDRESSES = ("127.0.0.11", "127.0.0.12", "127.0.0.13")


async def no_progress(_: NodeProgress) -> None:
    return None


def on_archiving(address: str, action: Callable[[], object]) -> Progress:
    """A progress callback that acts once, when `address` starts writing its archive."""
    done = False

    async def progress(p: NodeProgress) -> None:
        nonlocal done
        if p.address == address and p.phase == "archiving" and not done:
            done = True
            action()

    return progress


def leftovers(node: SandboxNode) -> list[str]:
    """Files in the backup directory that could be mistaken for a backup."""
    return sorted(p.name for p in node.backup_dir.iterdir() if not p.name.startswith("."))


def partials(node: SandboxNode) -> list[str]:
    return sorted(p.name for p in node.backup_dir.iterdir() if ".partial-" in p.name)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def by_address(result: BackupResult) -> dict[str, object]:
    return {n.address: n for n in result.nodes}


async def test_every_node_gets_a_verified_archive_named_as_the_runbook_does(cluster: SandboxCluster) -> None:
    seen: list[NodeProgress] = []

    async def progress(p: NodeProgress) -> None:
        seen.append(p)

    result = await back_up(request(cluster), progress)
    assert result.verified
    for n in result.nodes:
        node = cluster.nodes[n.address]
        archive = node.backup_dir / f"{n.address}-minio.tar"
        assert n.archive == str(archive)
        assert n.sha256 == hashlib.sha256(archive.read_bytes()).hexdigest()
        assert n.bytes == archive.stat().st_size
        assert n.entries == tree_stats(node.minio_dir, leave_out=STAGING).entries
        assert (node.backup_dir / f"{n.address}-minio.tar.sha256").read_text().split()[0] == n.sha256
        assert mode(archive) == mode(node.backup_dir / f"{n.address}-minio.tar.sha256") == 0o600
        assert partials(node) == []
        listed = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True, check=True)
        assert len(listed.stdout.splitlines()) == n.entries
    archiving = [p for p in seen if p.phase == "archiving" and p.done > 0]
    assert archiving, "progress was reported while the archive was written"
    assert all(p.done <= p.total for p in seen)


async def test_nodes_are_backed_up_concurrently(cluster: SandboxCluster) -> None:
    order: list[tuple[str, str]] = []

    async def progress(p: NodeProgress) -> None:
        order.append((p.address, p.phase))

    await back_up(request(cluster), progress)
    first_done = next(i for i, (_, phase) in enumerate(order) if phase == "done")
    started = {a for a, phase in order[:first_done] if phase == "archiving"}
    assert len(started) == 3, "all three nodes were archiving before the first one finished"


async def test_an_unreachable_node_fails_alone(cluster: SandboxCluster) -> None:
    cluster.nodes["127.0.0.12"].refuse()
    result = await back_up(request(cluster), no_progress)
    nodes = by_address(result)
    assert not result.verified
    assert "Cannot reach 127.0.0.12" in (nodes["127.0.0.12"].problem or "")  # type: ignore[attr-defined]
    assert nodes["127.0.0.11"].verified and nodes["127.0.0.13"].verified  # type: ignore[attr-defined]


async def test_a_node_that_never_answers_times_out(cluster: SandboxCluster) -> None:
    cluster.nodes["127.0.0.13"].blackhole()
    req = request(cluster)
    quick = dataclasses.replace(
        req.nodes[2], target=dataclasses.replace(req.nodes[2].target, connect_timeout=1.0)
    )
    result = await back_up(dataclasses.replace(req, nodes=(*req.nodes[:2], quick)), no_progress)
    problem = by_address(result)["127.0.0.13"].problem  # type: ignore[attr-defined]
    assert "did not answer within 1 s" in problem
    assert sum(n.verified for n in result.nodes) == 2


async def test_a_refused_key_is_an_authentication_failure(cluster: SandboxCluster, tmp_path: Path) -> None:
    other = generate_keys(tmp_path / "other", ADDRESSES)
    req = request(cluster)
    wrong = dataclasses.replace(
        req.nodes[0], target=dataclasses.replace(req.nodes[0].target, key=other.client_key)
    )
    result = await back_up(dataclasses.replace(req, nodes=(wrong, *req.nodes[1:])), no_progress)
    problem = by_address(result)["127.0.0.11"].problem  # type: ignore[attr-defined]
    assert "refused our key" in problem


async def test_an_unknown_host_key_is_refused_and_named(cluster: SandboxCluster, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    req = request(cluster)
    unknown = dataclasses.replace(
        req.nodes[1], target=dataclasses.replace(req.nodes[1].target, known_hosts=empty)
    )
    result = await back_up(dataclasses.replace(req, nodes=(req.nodes[0], unknown, req.nodes[2])), no_progress)
    problem = by_address(result)["127.0.0.12"].problem  # type: ignore[attr-defined]
    assert "not in" in problem and "ssh-ed25519 SHA256:" in problem and "Refusing" in problem
    assert not (cluster.nodes["127.0.0.12"].backup_dir / "127.0.0.12-minio.tar").exists()
    assert cluster.nodes["127.0.0.12"].commands == [], "nothing ran on a node whose key was not trusted"


async def test_a_changed_host_key_is_refused(cluster: SandboxCluster, tmp_path: Path) -> None:
    other = generate_keys(tmp_path / "other", ADDRESSES)
    cluster.nodes["127.0.0.13"].replace_host_key(other.host_keys["127.0.0.13"])
    result = await back_up(request(cluster), no_progress)
    problem = by_address(result)["127.0.0.13"].problem  # type: ignore[attr-defined]
    assert "differs from the one" in problem and "changed" in problem


async def test_tar_failing_leaves_no_archive(cluster: SandboxCluster) -> None:
    node = cluster.nodes["127.0.0.11"]
    gone = node.minio_dir.with_name("minio-unmounted")
    result = await back_up(request(cluster), on_archiving(node.address, lambda: node.minio_dir.rename(gone)))
    problem = by_address(result)[node.address].problem  # type: ignore[attr-defined]
    assert "tar failed (exit 2)" in problem
    assert leftovers(node) == [] and partials(node) == []


async def test_a_file_changing_during_the_read_makes_the_backup_inconsistent(cluster: SandboxCluster) -> None:
    node = cluster.nodes["127.0.0.12"]
    busy = node.minio_dir / ".minio.sys" / "tmp-busy-object"
    busy.parent.mkdir(parents=True, exist_ok=True)
    busy.write_bytes(b"\0" * (64 * 2**20))  # big enough that tar takes a while to read it
    stop = threading.Event()

    def touch_until_stopped() -> None:
        while not stop.is_set():
            os.utime(busy)

    writer = threading.Thread(target=touch_until_stopped)
    try:
        result = await back_up(request(cluster), on_archiving(node.address, writer.start))
    finally:
        stop.set()
        if writer.is_alive():
            writer.join()
    problem = by_address(result)[node.address].problem  # type: ignore[attr-defined]
    assert not by_address(result)[node.address].verified  # type: ignore[attr-defined]
    assert "changed" in problem and "not a valid backup" in problem
    assert leftovers(node) == [] and partials(node) == []


async def test_a_dropped_connection_mid_archive_is_a_failure_and_nothing_looks_complete(
    cluster: SandboxCluster,
) -> None:
    node = cluster.nodes["127.0.0.13"]
    node.drop_after(200)  # a few progress lines into the archive
    result = await back_up(request(cluster), no_progress)
    problem = by_address(result)[node.address].problem  # type: ignore[attr-defined]
    assert "connection was lost" in problem and "outcome is unknown" in problem
    assert leftovers(node) == []
    assert sum(n.verified for n in result.nodes) == 2
    node.clear_faults()
    again = await back_up(request(cluster), no_progress)
    assert again.verified, "a later backup succeeds"
    assert partials(node) == [], "and it cleared the partial file the dropped one left"


async def test_not_enough_space_is_refused_before_writing(cluster: SandboxCluster) -> None:
    result = await back_up(dataclasses.replace(request(cluster), margin_percent=10_000_000), no_progress)
    for n in result.nodes:
        assert "free; the archive needs" in (n.problem or "")
        assert leftovers(cluster.nodes[n.address]) == []


def _tmpfs_available() -> str | None:
    if os.geteuid() != 0:
        return "mounting a small tmpfs needs root"
    if shutil.which("mount") is None:
        return "no mount command"
    return None


@pytest.mark.skipif(_tmpfs_available() is not None, reason=str(_tmpfs_available()))
async def test_the_disk_filling_up_part_way_fails_the_node_and_leaves_no_archive(
    cluster: SandboxCluster,
) -> None:
    node = cluster.nodes["127.0.0.11"]
    stats = tree_stats(node.minio_dir)
    size = stats.bytes + 4 * 2**20 + stats.entries * 2048
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(node.backup_dir)], check=True)
    try:
        filler = node.backup_dir / "someone-elses-file"

        def fill() -> None:
            with filler.open("wb") as f:  # leaves less room than the archive needs
                f.write(b"\0" * (size - stats.bytes // 2))

        result = await back_up(request(cluster), on_archiving(node.address, fill))
        problem = by_address(result)[node.address].problem  # type: ignore[attr-defined]
        assert "writing the archive failed: the disk filled up" in problem
        assert leftovers(node) == ["someone-elses-file"] and partials(node) == []
    finally:
        subprocess.run(["umount", str(node.backup_dir)], check=True)


async def test_a_copy_off_the_node_is_checked_again(cluster: SandboxCluster, tmp_path: Path) -> None:
    copies = tmp_path / "copies"
    # Someone planted a link at the predictable name of a copy in progress: its target must survive.
    copies.mkdir(mode=0o755)
    victim = tmp_path / "victim"
    victim.write_text("not an archive\n")
    (copies / ".127.0.0.11-minio.tar.partial").symlink_to(victim)
    result = await back_up(dataclasses.replace(request(cluster), copy_dir=copies), no_progress)
    assert result.verified
    assert victim.read_text() == "not an archive\n"
    for n in result.nodes:
        assert n.copy == str(copies / f"{n.address}-minio.tar")
        assert hashlib.sha256(Path(n.copy).read_bytes()).hexdigest() == n.sha256
        assert mode(Path(n.copy)) == 0o600
    assert sorted(p.name for p in copies.iterdir()) == [f"{a}-minio.tar" for a in ADDRESSES]


async def test_a_copy_directory_regclean_makes_is_its_own(cluster: SandboxCluster, tmp_path: Path) -> None:
    copies = tmp_path / "new" / "copies"
    result = await back_up(dataclasses.replace(request(cluster), copy_dir=copies), no_progress)
    assert result.verified
    assert mode(copies) == 0o700


async def test_the_backup_directory_inside_the_minio_directory_is_refused(cluster: SandboxCluster) -> None:
    req = request(cluster)
    inside = dataclasses.replace(req.nodes[0], backup_dir=str(Path(req.nodes[0].minio_dir) / "backup"))
    result = await back_up(dataclasses.replace(req, nodes=(inside, *req.nodes[1:])), no_progress)
    problem = by_address(result)["127.0.0.11"].problem  # type: ignore[attr-defined]
    assert "inside the MinIO directory" in problem
    assert not (Path(req.nodes[0].minio_dir) / "backup").exists()


# --- a live MinIO --------------------------------------------------------------------------------

live = pytest.mark.skipif(gate_missing() is not None, reason=str(gate_missing()))


def members(archive: Path) -> list[str]:
    listed = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True, check=True)
    return listed.stdout.splitlines()


@live
async def test_a_live_minio_is_backed_up_and_what_its_scanner_changed_is_listed(
    cluster: SandboxCluster,
) -> None:
    for node in cluster.nodes.values():
        node.scanner.start()
    result = await back_up(request(cluster), no_progress)
    assert result.verified, [n.problem for n in result.nodes]
    for n in result.nodes:
        node = cluster.nodes[n.address]
        assert node.scanner.saves_during_backup > 0, "MinIO wrote while the archive was made"
        assert n.attempts == 1 and n.first_attempt == ()
        assert n.tolerated, "tar saw the scanner's caches change, and the backup says so"
        assert all(t.startswith(".minio.sys/buckets/") and "scanner" in t for t in n.tolerated)
        assert [e.split(":")[0] for e in n.excluded] == [".minio.sys/tmp", ".minio.sys/tmp-old"]
        names = members(node.backup_dir / f"{n.address}-minio.tar")
        assert not [m for m in names if "/.minio.sys/tmp/" in m or m.endswith("/.minio.sys/tmp/")]
        assert any(m.endswith("/.minio.sys/config/config.json/xl.meta") for m in names)
        assert any(m.endswith("/.minio.sys/buckets/registry/.metadata.bin/xl.meta") for m in names)
        assert n.as_dict()["tolerated"] == list(n.tolerated) and n.as_dict()["attempts"] == 1


@live
async def test_an_object_changing_during_the_first_run_gets_a_second_that_says_so(
    cluster: SandboxCluster,
) -> None:
    node = cluster.nodes["127.0.0.12"]
    node.scanner.start()
    changed = node.scanner.change_objects(times=1)
    result = await back_up(request(cluster), no_progress)
    n = by_address(result)[node.address]
    assert n.verified and n.problem is None  # type: ignore[attr-defined]
    assert n.attempts == 2 and node.scanner.object_rewrites == 1  # type: ignore[attr-defined]
    assert any(changed in line for line in n.first_attempt)  # type: ignore[attr-defined]
    assert leftovers(node) == [f"{node.address}-minio.tar", f"{node.address}-minio.tar.sha256"]
    assert partials(node) == []
    others = [x for x in result.nodes if x.address != node.address]
    assert all(x.verified and x.attempts == 1 for x in others)


@live
async def test_an_object_changing_during_every_run_is_refused_and_named(cluster: SandboxCluster) -> None:
    node = cluster.nodes["127.0.0.13"]
    node.scanner.start()
    changed = node.scanner.change_objects(times=None)
    result = await back_up(request(cluster), no_progress)
    n = by_address(result)[node.address]
    assert not n.verified and n.attempts == 2  # type: ignore[attr-defined]
    assert node.scanner.object_rewrites >= 2, "it changed during both runs"
    assert "object data changed while it was archived" in n.problem and changed in n.problem  # type: ignore[attr-defined]
    assert any(changed in line for line in n.first_attempt)  # type: ignore[attr-defined]
    assert leftovers(node) == [] and partials(node) == []
    assert sum(x.verified for x in result.nodes) == 2
