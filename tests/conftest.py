"""Shared fixtures: the sandbox's simulated Kubernetes API (served on port 0), S3 server and registry,
and the whole sandbox."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import warnings
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot.audit import actors
from sandbox.kube import KubeApiServer, ResourceDef
from sandbox.kube.fixtures import lean_sample, load_fixture
from sandbox.registry import Registry, S3Server, registry_binary, skopeo_binary
from sandbox.registry.seed_cache import SEED_CACHE
from sandbox.stack import Sandbox
from tests.postgres import PostgresServer, postgres_bin

# with CI=true a skipped test fails the run
# the longest tests first, so that the xdist workers finish together (tests/slow_first.py)
# `--cpu-report FILE` records what each test costs (tests/cpu_report.py)
# temporary files on a tmpfs when the machine has one to spare (tests/tmpfs.py)
pytest_plugins = ["tests.strict_skips", "tests.slow_first", "tests.cpu_report", "tests.tmpfs"]

_SEED_CACHE_OWNER = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """One directory per run where each seed image's push is kept (`sandbox.registry.seed`), made
    before xdist starts its workers so that they share it: each image is pushed once per run, not
    once per worker."""
    if SEED_CACHE not in os.environ:
        path = Path(tempfile.mkdtemp(prefix="regclean-seed-"))
        os.environ[SEED_CACHE] = str(path)
        config.stash[_SEED_CACHE_OWNER] = path


def pytest_unconfigure(config: pytest.Config) -> None:
    path = config.stash.get(_SEED_CACHE_OWNER, None)
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)
        os.environ.pop(SEED_CACHE, None)


NEEDS_REGISTRY_AND_SKOPEO = [
    pytest.mark.skipif(
        registry_binary() is None, reason="docker-registry is not installed (Debian package docker-registry)"
    ),
    pytest.mark.skipif(skopeo_binary() is None, reason="skopeo is not installed (Debian package skopeo)"),
]
"""Marks for a module that starts the sandbox registry and pushes or pulls with skopeo."""


@pytest.fixture(autouse=True)
def _names_stay_in_their_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The names of people this process learns (bot/audit/actors.py) are per test: a message names
    a person or mentions them depending on it."""
    monkeypatch.setattr(actors, "_names", {})


def operatorview(
    name: str,
    cluster: str = "global",
    *,
    phase: str | None = "Installed",
    csv: str | None = None,
    display: str | None = "Display",
    channels: bool = True,
    api_version: str = "app.alauda.io/v1alpha1",
) -> dict[str, Any]:
    """An OperatorView as ACP serves it."""
    status: dict[str, Any] = {
        "operatorStatus": {
            "phase": phase,
            "installation": {
                "artifactName": name,
                "subscription": {"installedCSV": csv or f"{name}.v1.0.0"},
            },
        },
        "packageManifestStatus": {
            "channels": [{"name": "stable", "currentCSVDesc": {"displayName": display}}] if channels else []
        },
    }
    return {
        "apiVersion": api_version,
        "kind": "OperatorView",
        "metadata": {"name": name, "namespace": cluster},
        "status": status,
    }


def pluginview(
    module: str,
    *,
    lifecycle: str | None = "agnostic",
    installed: Iterable[tuple[str, str]] = (),
    english: str = "Plugin",
    api_version: str = "app.alauda.io/v1alpha2",
) -> dict[str, Any]:
    """A ModulePluginView as ACP serves it."""
    labels = {"cpaas.io/module-name": module}
    if lifecycle is not None:
        labels["cpaas.io/lifecycle-type"] = lifecycle
    return {
        "apiVersion": api_version,
        "kind": "ModulePluginView",
        "metadata": {
            "name": module,
            "labels": labels,
            "annotations": {"cpaas.io/display-name": f'{{"en": "{english}", "zh": "{english}"}}'},
        },
        "status": {"installed": [{"cluster": c, "version": v} for c, v in installed]},
    }


@pytest.fixture
async def kube_api() -> AsyncIterator[KubeApiServer]:
    """An empty simulated API server; tests load the objects they need."""
    server = KubeApiServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def kubeconfig(kube_api: KubeApiServer, tmp_path: Path) -> Path:
    """A kubeconfig pointing at `kube_api`."""
    return kube_api.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def make_kube_api() -> Callable[..., KubeApiServer]:
    """Build a server with other resource definitions (e.g. the ACP kinds at another version)."""

    def make(resources: dict[str, ResourceDef]) -> KubeApiServer:
        return KubeApiServer(resources=resources)

    return make


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def s3_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[S3Server]:
    """moto's S3 server, one per test process (each xdist worker has its own). Starting one costs
    about half a second of CPU, forgetting everything (`s3`) a few milliseconds."""
    server = S3Server(tmp_path_factory.mktemp("s3"))
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def s3(s3_server: S3Server) -> S3Server:
    """moto's S3 server, as the sandbox registry's storage: the process's one, without the buckets
    earlier tests left. A test must not stop it; one that needs a server to go away starts its own."""
    s3_server.reset()
    return s3_server


@pytest.fixture
def sandbox_s3(s3_server: S3Server) -> S3Server:
    """The process's S3 server for a `Sandbox`, which makes the bucket `registry` hold exactly its
    seeded images (`sandbox.registry.seed`): what an earlier sandbox left there is kept for that,
    as a sandbox after an untouched one then copies nothing. Any other bucket, and a versioned
    `registry`, are dropped (a reset)."""
    client = s3_server.client()
    try:
        buckets = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    finally:
        client.close()
    if buckets - {"registry"} or ("registry" in buckets and s3_server.versioning()):
        s3_server.reset()
    return s3_server


@pytest.fixture
async def registry(s3: S3Server, tmp_path: Path) -> AsyncIterator[Registry]:
    """Debian's docker-registry on that bucket, basic auth."""
    reg = Registry(s3, tmp_path / "registry")
    await reg.start()
    yield reg
    await reg.stop()


@pytest.fixture
async def sandbox(
    request: pytest.FixtureRequest, tmp_path: Path, sandbox_s3: S3Server
) -> AsyncIterator[Sandbox]:
    """The sample ACP cluster and the workspace, started (scenarios and the e2e drills), on the
    process's S3 server. For a test or module marked `lean`, the lean sample (`lean_sample`: the
    same cluster with 10 packages to show and restore instead of 28), where what the test checks
    does not depend on the sample's operators and plugins; the demo, the inventory and the package
    scenarios run the whole sample."""
    fixture = lean_sample() if request.node.get_closest_marker("lean") else load_fixture()
    box = Sandbox(tmp_path / "sandbox", fixture, s3=sandbox_s3)
    await box.start()
    yield box
    await box.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Debian's PostgreSQL: one throwaway cluster per test process (tests/postgres.py)."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed (Debian package postgresql: make debs)")
    server = PostgresServer(bin_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind the store runs on: a SQLite file, and a PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'regclean.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    # Tests leave their stores to the garbage collector, as they may with SQLite; psycopg warns
    # about each pooled connection it then closes. Only for this test, and collected before it ends.
    warnings.filterwarnings("ignore", "<psycopg.Connection .* was deleted while still open", ResourceWarning)
    yield server.create_database()
    gc.collect()
