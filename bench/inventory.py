"""Benchmark: `regclean inventory` against the runbook's two kubectl commands, on a large ACP.

10,000 OperatorViews over 100 clusters and 1,000 ModulePluginViews are served by the sandbox API
server in its own process. Each side runs once to warm up, then three times; the best run counts.
kubectl gets a fresh --cache-dir every run, so both sides pay for discovery. The row counts of both
sides must agree with the fixture, so that neither can win by doing less.

Run from the repository root: `.venv/bin/python bench/inventory.py`. The last line is `ratio=X`
(regclean time / kubectl time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from sandbox.kube.fixtures import generate_fixture, installed_operators, listed_plugins  # noqa: E402
from sandbox.kube.runbook import OPERATORS_COMMAND, PLUGINS_TEMPLATE  # noqa: E402

OPERATORS, CLUSTERS, PLUGINS = 10_000, 100, 1_000
RUNS = 3
KUBECTL = REPO / ".cache" / "kubectl" / "usr" / "bin" / "kubectl"


def start_server(kubeconfig: Path) -> subprocess.Popen[str]:
    """The sandbox API server in its own process, so that it does not share a CPU with the client."""
    argv = [sys.executable, "-m", "sandbox.kube", "--kubeconfig", str(kubeconfig)]
    argv += ["--generate-operators", str(OPERATORS), "--generate-clusters", str(CLUSTERS)]
    argv += ["--generate-plugins", str(PLUGINS)]
    server = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    first = server.stdout.readline()
    if not first.startswith("KUBE_URL="):
        server.kill()
        raise SystemExit(f"the sandbox API server did not start: {first!r}")
    return server


def regclean_argv() -> list[str]:
    """The installed entry point when there is one, else the module."""
    script = REPO / ".venv" / "bin" / "regclean"
    base = [str(script)] if script.exists() else [sys.executable, "-m", "bot.cli"]
    return [*base, "inventory", "--format", "json"]


def run_regclean(kubeconfig: Path, work: Path, n: int) -> tuple[float, int, dict[str, list[object]]]:
    """(seconds, peak RSS in KiB, parsed JSON) of one `regclean inventory` run on a fresh database."""
    out_path = work / f"regclean-{n}.json"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "DATABASE_URL": f"sqlite:///{work}/db-{n}.sqlite"}
    with out_path.open("wb") as out:
        started = time.perf_counter()
        child = subprocess.Popen(regclean_argv(), cwd=REPO, env=env, stdout=out, stderr=subprocess.PIPE)
        # wait4 rather than wait: it hands back this child's own rusage, peak RSS included.
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    stderr = child.stderr.read().decode() if child.stderr else ""
    if child.returncode != 0:
        raise SystemExit(f"regclean inventory exited {child.returncode}:\n{stderr}")
    return elapsed, usage.ru_maxrss, json.loads(out_path.read_text())


def run_kubectl(kubeconfig: Path, work: Path, n: int) -> tuple[float, int, int]:
    """(seconds, operator rows, plugin rows) of the runbook's two commands, one after the other."""
    cache = work / f"kube-cache-{n}"
    prefix = f"{KUBECTL} --kubeconfig {kubeconfig} --cache-dir {cache}"
    started = time.perf_counter()
    operators = subprocess.run(
        ["sh", "-c", OPERATORS_COMMAND.replace("kubectl", prefix, 1)],
        capture_output=True,
        text=True,
        check=True,
    )
    plugins = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), "get", "modulepluginview",
         "-o", f"go-template={PLUGINS_TEMPLATE}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if operators.stderr or plugins.stderr:
        raise SystemExit(f"kubectl complained:\n{operators.stderr}{plugins.stderr}")
    return elapsed, len(operators.stdout.splitlines()) - 1, len(plugins.stdout.splitlines()) - 1


def best_of(label: str, once: Callable[[int], float]) -> float:
    """Warm up once, then the fastest of RUNS runs."""
    once(0)
    times = [once(n) for n in range(1, RUNS + 1)]
    print(f"{label}: " + ", ".join(f"{t:.3f}s" for t in times) + f" (best {min(times):.3f}s)", flush=True)
    return min(times)


def main() -> int:
    """Run the benchmark and print its measurements; the last line is the ratio."""
    if not KUBECTL.exists():
        raise SystemExit(f"kubectl 1.20 is missing at {KUBECTL}: run the project's setup first")
    fixture = generate_fixture(OPERATORS, CLUSTERS, PLUGINS)
    want_operators, want_plugins = len(installed_operators(fixture)), len(listed_plugins(fixture))
    print(f"fixture: {OPERATORS} operatorviews over {CLUSTERS} clusters ({want_operators} Installed), "
          f"{PLUGINS} modulepluginviews ({want_plugins} agnostic/aligned)", flush=True)  # fmt: skip
    peak_kib = 0

    with tempfile.TemporaryDirectory(prefix="regclean-bench-") as tmp:
        work = Path(tmp)
        kubeconfig = work / "kubeconfig"
        server = start_server(kubeconfig)
        try:

            def regclean_once(n: int) -> float:
                nonlocal peak_kib
                elapsed, rss_kib, inventory = run_regclean(kubeconfig, work, n)
                got = (len(inventory["operators"]), len(inventory["plugins"]))
                assert got == (want_operators, want_plugins), f"regclean recorded {got}"
                peak_kib = max(peak_kib, rss_kib)
                return elapsed

            def kubectl_once(n: int) -> float:
                elapsed, operators, plugins = run_kubectl(kubeconfig, work, n)
                assert (operators, plugins) == (want_operators, want_plugins), (
                    f"kubectl printed {operators, plugins}"
                )
                return elapsed

            regclean = best_of("regclean inventory --format json", regclean_once)
            kubectl = best_of("kubectl (operators, then plugins)", kubectl_once)
        finally:
            server.terminate()
            server.wait(timeout=10)

    print(f"regclean_s={regclean:.3f}")
    print(f"kubectl_s={kubectl:.3f}")
    print(f"peak_rss_mb={peak_kib / 1024:.0f}")
    print(f"ratio={regclean / kubectl:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
