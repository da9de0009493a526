"""Benchmark: reading the purge's output (one `mc rm` line per object) through pod exec.

A command in the sandbox's MinIO pod prints 1,000,000 lines shaped like `mc rm --recursive`'s
(written to a file beforehand and `cat`, so that the reader and not the writer sets the pace).
regclean reads them with `exec_lines` (WebSocket frames, line by line, into a counting sink);
the baseline reads the same command through a plain local pipe in this process, with the same
sink. The sandbox API server runs in a child process, so that only the client's memory is
measured here: its peak RSS growth over the run (VmHWM after resetting it, and sampled VmRSS).
Each side runs once to warm up, then RUNS times alternating; the best run counts.

Run from the repository root: `.venv/bin/python bench/purge_stream.py`. The last line is
`rss_growth_mb=N` (target ≤ 20); `ratio=X` is regclean's lines/s over the baseline's.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from actions.kube import KubeClient  # noqa: E402
from actions.kube_exec import exec_lines  # noqa: E402

LINES = 1_000_000
RUNS = 3
GENERATOR = r"""
import sys
n, out = int(sys.argv[1]), sys.stdout.write
for start in range(0, n, 10_000):
    block = []
    for i in range(start, min(n, start + 10_000)):
        h = format(i * 0x9E3779B97F4A7C15F39CC0605CEDC8341082276BF3A27251F86C6A11D0C18E95 % (1 << 256), "064x")
        block.append(f"Removed `minio/registry/docker/registry/v2/blobs/sha256/{h[:2]}/{h}/data`.\n")
    out("".join(block))
"""


class Counter:
    """The sink both sides use: counts the lines that report a removal."""

    def __init__(self) -> None:
        self.removed = 0
        self.other = 0

    def __call__(self, channel: int, line: str) -> None:
        if channel == 1 and line.startswith("Removed"):
            self.removed += 1
        else:
            self.other += 1


def status_kib(field: str) -> int:
    """A `VmRSS`/`VmHWM`-style field of /proc/self/status, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


class RssWatch:
    """Peak RSS growth from now on: VmHWM reset through clear_refs, and VmRSS sampled every 5 ms."""

    def __init__(self) -> None:
        self.reset = False
        try:
            Path("/proc/self/clear_refs").write_text("5")  # 5: reset the peak RSS to the current RSS
            self.reset = True
        except OSError:
            pass
        self.base = status_kib("VmRSS")
        self.sampled = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.sampled = max(self.sampled, status_kib("VmRSS"))

    def growth_kib(self) -> int:
        """Stop sampling; the larger of the two peaks, less the RSS at the start."""
        self._stop.set()
        self._thread.join()
        peak = max(self.sampled, status_kib("VmHWM") if self.reset else 0)
        return peak - self.base


def write_output(path: Path, n: int) -> Path:
    """Write what `mc rm` would print for n objects."""
    with path.open("wb") as out:
        subprocess.run([sys.executable, "-c", GENERATOR, str(n)], stdout=out, check=True)
    return path


async def regclean_once(kube: KubeClient, output: Path, n: int) -> tuple[float, Counter]:
    counter = Counter()
    started = time.perf_counter()
    result = await exec_lines(kube, "kube-system", "minio-0", ["cat", str(output)], counter, timeout=600)
    elapsed = time.perf_counter() - started
    assert result.succeeded, result.message
    assert result.stdout_lines == n and result.stderr_lines == 0, result
    return elapsed, counter


def baseline_once(output: Path) -> tuple[float, Counter]:
    counter = Counter()
    started = time.perf_counter()
    with subprocess.Popen(["cat", str(output)], stdout=subprocess.PIPE) as proc:
        assert proc.stdout is not None
        for raw in proc.stdout:
            counter(1, raw.decode("utf-8", "replace").rstrip("\n"))
    elapsed = time.perf_counter() - started
    assert proc.returncode == 0
    return elapsed, counter


def start_server(kubeconfig: Path) -> subprocess.Popen[str]:
    """The sandbox API server with pod exec, in its own process."""
    argv = [sys.executable, str(Path(__file__).resolve()), "--serve", str(kubeconfig)]
    server = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    first = server.stdout.readline()
    if not first.startswith("KUBE_URL="):
        server.kill()
        raise SystemExit(f"the sandbox API server did not start: {first!r}")
    return server


async def serve(kubeconfig: Path) -> None:
    """Child mode: serve the sample cluster, with exec into minio-0, until SIGTERM."""
    from sandbox.kube import KubeApiServer
    from sandbox.kube.exec import ExecEnvironment, serve_exec
    from sandbox.kube.fixtures import load_fixture

    fixture = load_fixture()
    server = KubeApiServer(fixture.objects, fixture.resources)
    serve_exec(server, lambda pod, _: ExecEnvironment({}) if pod["metadata"]["name"] == "minio-0" else None)
    await server.start()
    server.write_kubeconfig(kubeconfig)
    print(f"KUBE_URL={server.url}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await server.stop()


async def main() -> int:
    """Run the benchmark and print its measurements; the last line is the RSS growth."""
    with tempfile.TemporaryDirectory(prefix="regclean-bench-purge-") as tmp:
        kubeconfig = Path(tmp) / "kubeconfig"
        small = write_output(Path(tmp) / "mc-rm-small.txt", 10_000)
        output = write_output(Path(tmp) / "mc-rm.txt", LINES)
        server = start_server(kubeconfig)
        kube = KubeClient.from_config(str(kubeconfig))
        try:
            await regclean_once(kube, small, 10_000)  # warm-up: imports, thread pool, first connection
            baseline_once(output)  # and the page cache
            watch = RssWatch()
            first, counter = await regclean_once(kube, output, LINES)
            growth_kib = watch.growth_kib()
            assert (counter.removed, counter.other) == (LINES, 0), vars(counter)
            times: dict[str, list[float]] = {"regclean": [first], "baseline": []}
            for _ in range(RUNS):
                elapsed, counter = baseline_once(output)
                assert counter.removed == LINES
                times["baseline"].append(elapsed)
                elapsed, counter = await regclean_once(kube, output, LINES)
                assert counter.removed == LINES
                times["regclean"].append(elapsed)
        finally:
            kube.close()
            server.terminate()
            server.wait(timeout=10)
    for name, values in times.items():
        print(f"{name}: " + ", ".join(f"{v:.2f}s" for v in values) + f" (best {min(values):.2f}s)")
    regclean_rate, baseline_rate = LINES / min(times["regclean"]), LINES / min(times["baseline"])
    print(f"count_check=ok removed={LINES} of {LINES} lines")
    print(f"regclean_lines_per_s={regclean_rate:,.0f}")
    print(f"baseline_lines_per_s={baseline_rate:,.0f}")
    print(f"ratio={regclean_rate / baseline_rate:.2f}")
    print(f"rss_growth_mb={growth_kib / 1024:.1f}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--serve", metavar="KUBECONFIG", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(Path(args.serve)))
        sys.exit(0)
    sys.exit(asyncio.run(main()))
