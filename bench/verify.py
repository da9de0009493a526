"""Benchmark: regclean's pull check against pulling the same images one after another with skopeo.

The sandbox registry (Debian's docker-registry on moto's S3, htpasswd basic auth as the
platform's) holds IMAGES distinct images in REPOS repositories, each with LAYERS layers of its own
random bytes and its own config: no blob is shared, so neither side can win by caching. They are
pushed with skopeo, PUSHERS at a time. Then, alternating, RUNS times each:
  skopeo:   `skopeo copy docker://REGISTRY/REF dir:DIR` for every image, one after another
            (it downloads every blob and checks its digest)
  regclean: `check_pulls(...)` over all of them with the default REGCLEAN_VERIFY_CONCURRENCY
            (every manifest and blob downloaded, streamed through sha256, sizes and digests checked)
Both must find every image whole. The best run of each counts (interference on this machine only
ever adds time); the medians are printed too.

It also prints the CPU time each side costs the registry and moto, this process and the skopeo
processes, and the ratio below which regclean cannot go on this machine: the servers' CPU time
for regclean's pass spread over every CPU (`server_bound_floor_ratio`).

Run: .venv/bin/python bench/verify.py      Last line: ratio=X   (regclean / skopeo; target ≤ 0.2)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from actions.pull_check import check_pulls  # noqa: E402
from actions.registry import RegistryTarget  # noqa: E402
from bot.config.settings import Settings  # noqa: E402
from sandbox.registry import Registry, S3Server, make_oci_layout, push, skopeo  # noqa: E402

IMAGES = 200
REPOS = 20
LAYERS = 4
LAYER_SIZE = 16 * 1024
PUSHERS = 8
RUNS = 3
CONCURRENCY = Settings.model_fields["verify_concurrency"].default


def references() -> list[str]:
    return [f"bench/app-{i % REPOS:02d}:v{i // REPOS}" for i in range(IMAGES)]


async def push_all(registry: Registry, layouts: Path) -> int:
    """Push every image (distinct content from its own seed); returns the bytes of all their blobs."""
    limit = asyncio.Semaphore(PUSHERS)

    async def one(index: int, reference: str) -> None:
        layout = make_oci_layout(
            layouts / str(index), layers=LAYERS, layer_size=LAYER_SIZE, seed=1000 + index
        )
        async with limit:
            await push(layout, registry, reference)

    await asyncio.gather(*(one(i, ref) for i, ref in enumerate(references())))
    return sum(f.stat().st_size for f in layouts.glob("*/blobs/sha256/*"))


def _cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    ticks = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU seconds spent during a block: by the servers, by this process, by the skopeo children."""

    def __init__(self, servers: list[int]) -> None:
        self.servers = servers
        self.spent: dict[str, float] = {}

    def __enter__(self) -> Cpu:
        self._start = (_cpu(self.servers), time.process_time(), _skopeo_cpu())
        return self

    def __exit__(self, *exc: object) -> None:
        end = (_cpu(self.servers), time.process_time(), _skopeo_cpu())
        deltas = (e - s for e, s in zip(end, self._start, strict=True))
        self.spent = dict(zip(("servers", "regclean", "skopeo"), deltas, strict=True))


def _skopeo_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def with_skopeo(registry: Registry, scratch: Path) -> float:
    scratch.mkdir()
    started = time.perf_counter()
    for index, reference in enumerate(references()):
        await skopeo(
            "copy",
            "--src-tls-verify=false",
            "--src-creds",
            f"{registry.username}:{registry.password}",
            f"docker://{registry.address}/{reference}",
            f"dir:{scratch / str(index)}",
        )
    elapsed = time.perf_counter() - started
    copied = sum(1 for _ in scratch.glob("*/manifest.json"))
    assert copied == len(references()), f"skopeo copied {copied} images"
    shutil.rmtree(scratch)
    return elapsed


async def with_regclean(registry: Registry) -> float:
    target = RegistryTarget(registry.address, registry.username, registry.password, insecure=True)
    started = time.perf_counter()
    results = await check_pulls(target, references(), concurrency=CONCURRENCY)
    elapsed = time.perf_counter() - started
    broken = [r for r in results if not r.pullable]
    assert not broken, broken[:3]
    assert all(r.blobs == LAYERS + 1 for r in results)
    return elapsed


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="regclean-bench-verify-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        s3 = S3Server(work / "s3")
        await s3.start()
        registry = Registry(s3, work / "registry")
        try:
            await registry.start()
            started = time.perf_counter()
            total = await push_all(registry, work / "layouts")
            print(
                f"pushed {IMAGES} images ({REPOS} repositories, {LAYERS} layers + config each, "
                f"{total / 2**20:.1f} MiB of blobs) in {time.perf_counter() - started:.1f} s"
            )
            times: dict[str, list[float]] = {"skopeo": [], "regclean": []}
            cpu: dict[str, list[dict[str, float]]] = {"skopeo": [], "regclean": []}
            servers = [pid for pid in (s3.pid, registry.pid) if pid is not None]
            for run in range(RUNS):
                with Cpu(servers) as used:
                    times["skopeo"].append(await with_skopeo(registry, work / f"pulled-{run}"))
                cpu["skopeo"].append(used.spent)
                with Cpu(servers) as used:
                    times["regclean"].append(await with_regclean(registry))
                cpu["regclean"].append(used.spent)
        finally:
            await registry.stop()
            await s3.stop()
    for name, values in times.items():
        print(f"{name}: {', '.join(f'{v:.2f}' for v in values)} s (median {statistics.median(values):.2f} s)")
        spent = {k: statistics.median(c[k] for c in cpu[name]) for k in ("servers", "regclean", "skopeo")}
        print(
            f"  CPU s (median): registry+moto {spent['servers']:.2f}, regclean {spent['regclean']:.2f}, "
            f"skopeo processes {spent['skopeo']:.2f}; {os.cpu_count()} CPUs"
        )
    print(f"concurrency={CONCURRENCY}")
    # The servers' CPU time for regclean's pass, spread over every CPU of the machine, is as fast
    # as that pass can possibly go here: the registry and moto share the CPUs with the client.
    floor = statistics.median(c["servers"] for c in cpu["regclean"]) / (os.cpu_count() or 1)
    print(f"server_bound_floor_ratio={floor / min(times['skopeo']):.3f}")
    print(f"median_ratio={statistics.median(times['regclean']) / statistics.median(times['skopeo']):.3f}")
    print(f"skopeo_s={min(times['skopeo']):.2f}")
    print(f"regclean_s={min(times['regclean']):.2f}")
    print(f"ratio={min(times['regclean']) / min(times['skopeo']):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
