"""regclean's verified backup against the runbook's own commands, on one sandbox node.

The node holds a MinIO-like directory of 1 GiB in 10,000 files. Both run over SSH on the
same node, one after the other, alternating, with the page cache warm and dirty pages
written back (`sync`) before each timed run:
  runbook:  tar -cvf <ip>-minio.tar /cpaas/minio; ls -lh <ip>-minio.tar; du -sh /cpaas/minio
  regclean: census, tar through tee and sha256, read back, compare, census again, keep
The baseline is the runbook's commands, which verify nothing but sizes a person compares.
The figures are the best of RUNS runs each (this machine's memory reclaim makes single runs
noisy, and noise only ever adds time); the medians are printed too.

Run: .venv/bin/python bench/backup.py      Last line: ratio=X   (target ≤ 1.3)
"""

from __future__ import annotations

import asyncio
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncssh

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.backup import BackupRequest, NodeProgress, NodeSpec, back_up  # noqa: E402
from actions.ssh import SshTarget  # noqa: E402
from sandbox.nodes import SandboxCluster, populate_minio_bytes  # noqa: E402

TOTAL = 2**30
FILES = 10_000
RUNS = 11


async def quiet(_: NodeProgress) -> None:
    return None


async def runbook(cluster: SandboxCluster, address: str) -> float:
    node = cluster.nodes[address]
    archive = node.backup_dir / f"{address}-minio.tar"
    command = (
        f"cd {shlex.quote(str(node.backup_dir))} && tar -cvf {shlex.quote(archive.name)} {shlex.quote(str(node.minio_dir))}"
        f" && ls -lh {shlex.quote(archive.name)} && du -sh {shlex.quote(str(node.minio_dir))}"
    )
    started = time.perf_counter()
    async with asyncssh.connect(
        address,
        port=node.port,
        username="root",
        client_keys=[str(cluster.keys.client_key)],
        known_hosts=str(cluster.keys.known_hosts),
        config=None,
        agent_path=None,
    ) as conn:
        result = await conn.run(command, check=True)
    elapsed = time.perf_counter() - started
    assert len(str(result.stdout).splitlines()) > FILES, "tar -v listed every file"
    archive.unlink()
    return elapsed


async def regclean(cluster: SandboxCluster, address: str) -> float:
    node = cluster.nodes[address]
    target = SshTarget(address, node.port, "root", cluster.keys.client_key, cluster.keys.known_hosts)
    spec = NodeSpec("bench", target, str(node.minio_dir), str(node.backup_dir))
    started = time.perf_counter()
    result = await back_up(BackupRequest(nodes=(spec,)), quiet)
    elapsed = time.perf_counter() - started
    [done] = result.nodes
    assert done.verified, done.problem
    assert done.entries and done.entries > FILES
    Path(done.archive).unlink()
    Path(done.archive + ".sha256").unlink()
    return elapsed


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="regclean-bench-backup-", dir="/var/tmp") as tmp:
        cluster = SandboxCluster(Path(tmp), addresses=("127.0.0.11",))
        node = cluster.nodes["127.0.0.11"]
        stats = populate_minio_bytes(node.minio_dir, total_bytes=TOTAL, files=FILES)
        print(
            f"MinIO-like directory: {stats.bytes / 2**30:.2f} GiB in {stats.files} files, {stats.entries} entries"
        )
        await cluster.start()
        try:
            await runbook(cluster, node.address)  # warm-up: page cache, SSH
            await regclean(cluster, node.address)
            times: dict[str, list[float]] = {"runbook": [], "regclean": []}
            for _ in range(RUNS):
                for name, fn in (("runbook", runbook), ("regclean", regclean)):
                    subprocess.run(["sync"], check=True)
                    times[name].append(await fn(cluster, node.address))
        finally:
            await cluster.stop()
    for name, values in times.items():
        print(f"{name}: {', '.join(f'{v:.2f}' for v in values)} s (median {statistics.median(values):.2f} s)")
    median_ratio = statistics.median(times["regclean"]) / statistics.median(times["runbook"])
    print(f"median_ratio={median_ratio:.2f}")
    # Interference on this machine only ever slows a run down, so the best of each is the
    # fairest comparison (as timeit does); the medians above show the spread.
    print(f"runbook_s={min(times['runbook']):.2f}")
    print(f"regclean_s={min(times['regclean']):.2f}")
    print(f"ratio={min(times['regclean']) / min(times['runbook']):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
