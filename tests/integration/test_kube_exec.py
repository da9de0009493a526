"""Exec in pods, finding, deleting and waiting for pods, against the sandbox API server."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.errors import ApiError, ApiForbidden, ApiNotFound, ApiUnreachable, PodsNotReady
from actions.kube import KubeClient
from actions.kube_exec import delete_pod, exec_lines, find_pods, wait_ready
from sandbox.kube import KubeApiServer
from sandbox.kube.defaults import KubeObject
from sandbox.kube.exec import ExecEnvironment, ExecService, serve_exec
from sandbox.kube.fixtures import load_fixture

NS = "kube-system"
REGISTRY = "app=registry,component=registry"


@dataclass
class Cluster:
    server: KubeApiServer
    service: ExecService
    kube: KubeClient
    deleted: list[str]


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    """The sample cluster with exec into minio-0, and a client for it."""

    def target(pod: KubeObject, container: str | None) -> ExecEnvironment | None:
        return ExecEnvironment({}, cwd=tmp_path) if pod["metadata"]["name"] == "minio-0" else None

    deleted: list[str] = []
    fixture = load_fixture()
    server = KubeApiServer(
        fixture.objects, fixture.resources, on_pod_deleted=lambda pod: deleted.append(pod["metadata"]["name"])
    )
    service = serve_exec(server, target)
    await server.start()
    kube = KubeClient.from_config(str(server.write_kubeconfig(tmp_path / "kubeconfig")))
    yield Cluster(server, service, kube, deleted)
    kube.close()
    await server.stop()


class Lines:
    """A sink that keeps what it was given."""

    def __init__(self) -> None:
        self.got: list[tuple[int, str]] = []

    def __call__(self, channel: int, line: str) -> None:
        self.got.append((channel, line))


async def run(cluster: Cluster, *argv: str, limit: float = 30, **kw: Any) -> tuple[Any, Lines]:
    lines = Lines()
    result = await exec_lines(cluster.kube, NS, "minio-0", list(argv), lines, timeout=limit, **kw)
    return result, lines


# --- exec ----------------------------------------------------------------------------------------


async def test_a_successful_command_reports_exit_0_and_every_line(cluster) -> None:
    result, lines = await run(cluster, "sh", "-c", "echo a; echo b", container="minio")
    assert result.succeeded and result.exit_code == 0
    assert lines.got == [(1, "a"), (1, "b")]
    assert (result.stdout_lines, result.stderr_lines, result.tail) == (2, 0, ("a", "b"))


async def test_a_failing_command_reports_its_exit_code_and_stderr_lines(cluster) -> None:
    result, lines = await run(cluster, "sh", "-c", "echo a; echo b >&2; exit 3")
    assert result.exit_code == 3 and not result.succeeded
    assert result.message == "command terminated with exit code 3"
    assert sorted(lines.got) == [(1, "a"), (2, "b")]
    assert (result.stdout_lines, result.stderr_lines) == (1, 1)
    assert sorted(result.tail) == ["a", "b"]


async def test_the_result_never_echoes_the_commands_arguments(cluster) -> None:
    result, _ = await run(cluster, "sh", "-c", "exit 4", "sh", "s3cret-password")
    assert result.exit_code == 4 and "s3cret" not in result.message
    assert any("s3cret-password" in a for a in cluster.service.started[-1]), "the server did get it"


async def test_a_command_that_cannot_start_is_a_failure_without_exit_code(cluster) -> None:
    result, _ = await run(cluster, "no-such-mc", "alias", "set")
    assert result.exit_code == -1 and not result.succeeded
    assert 'exec: "no-such-mc": executable file not found in $PATH' in result.message


async def test_lines_are_decoded_leniently_and_the_last_needs_no_newline(cluster) -> None:
    result, lines = await run(cluster, "printf", "caf\\303\\251\\r\\n\\377\\nlast")
    assert lines.got == [(1, "café"), (1, "\ufffd"), (1, "last")]
    assert result.stdout_lines == 3 and result.succeeded


async def test_the_tail_keeps_the_last_20_lines_of_many(cluster) -> None:
    result, lines = await run(cluster, "seq", "1", "5000")
    assert result.succeeded and result.stdout_lines == 5000 == len(lines.got)
    assert [line for _, line in lines.got] == [str(i) for i in range(1, 5001)]
    assert result.tail == tuple(str(i) for i in range(4981, 5001))


async def test_a_cut_stream_is_an_unknown_outcome_never_a_success(cluster) -> None:
    cluster.service.cut_after_bytes(5000)
    result, lines = await run(cluster, "seq", "1", "100000")
    assert result.exit_code is None and not result.succeeded
    assert result.message.startswith("outcome unknown: the stream ")
    assert "minio-0" in result.message
    assert 0 < result.stdout_lines < 100_000 and result.stdout_lines == len(lines.got)
    await asyncio.wait_for(cluster.service.wait_idle(), 10)


async def test_a_timeout_is_an_unknown_outcome_and_hangs_up(cluster) -> None:
    result, lines = await run(cluster, "sh", "-c", "echo started; exec sleep 60", limit=1)
    assert result.exit_code is None and not result.succeeded
    assert "no exit status within 1 s" in result.message
    assert lines.got == [(1, "started")]
    # The server saw the hang-up and killed the command.
    await asyncio.wait_for(cluster.service.wait_idle(), 10)


async def test_cancelling_an_exec_hangs_up_at_once(cluster) -> None:
    loop = asyncio.get_running_loop()
    started = asyncio.Event()

    def sink(channel: int, line: str) -> None:
        loop.call_soon_threadsafe(started.set)

    argv = ["sh", "-c", "echo started; exec sleep 60"]
    task = asyncio.create_task(exec_lines(cluster.kube, NS, "minio-0", argv, sink, timeout=60))
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.wait_for(cluster.service.wait_idle(), 10)


# --- exec that cannot open -----------------------------------------------------------------------


async def test_exec_in_a_missing_pod_names_pod_and_namespace(cluster) -> None:
    with pytest.raises(
        ApiNotFound, match=r"kube-system/minio-9: not found \(404\): pods \"minio-9\" not found"
    ):
        await exec_lines(cluster.kube, NS, "minio-9", ["true"], Lines(), timeout=10)


async def test_exec_in_a_container_that_is_not_there_is_refused(cluster) -> None:
    with pytest.raises(ApiError, match=r"400.*container mc is not valid for pod minio-0"):
        await run(cluster, "true", container="mc")


async def test_forbidden_exec_says_which_permission_and_never_shows_the_token(cluster, tmp_path) -> None:
    config = yaml.safe_load(cluster.server.write_kubeconfig(tmp_path / "kc").read_text())
    config["users"][0]["user"] = {"token": "sekret-bearer-token"}
    (tmp_path / "kc").write_text(yaml.safe_dump(config))
    cluster.server.fail("/api/v1/namespaces/kube-system/pods/minio-0/exec", 403)
    kube = KubeClient.from_config(str(tmp_path / "kc"))
    try:
        with pytest.raises(ApiForbidden) as caught:
            await exec_lines(kube, NS, "minio-0", ["true"], Lines(), timeout=10)
    finally:
        kube.close()
    assert "kube-system/minio-0" in str(caught.value) and "pods/exec" in str(caught.value)
    assert "sekret" not in str(caught.value)
    assert cluster.service.started == []


async def test_an_unreachable_api_is_reported_as_such(tmp_path) -> None:
    server = KubeApiServer()
    await server.start()
    kubeconfig = server.write_kubeconfig(tmp_path / "kc")
    await server.stop()
    kube = KubeClient.from_config(str(kubeconfig))
    try:
        with pytest.raises(ApiUnreachable, match="exec in pod kube-system/minio-0: Connection refused"):
            await exec_lines(kube, NS, "minio-0", ["true"], Lines(), timeout=10)
    finally:
        kube.close()


# --- pods ----------------------------------------------------------------------------------------


def pod_names(pods: list[Any]) -> list[str]:
    return sorted(p["metadata"]["name"] for p in pods)


async def test_find_pods_selects_by_label_and_leaves_out_pods_being_deleted(cluster) -> None:
    replicas = ["registry-6f9c8d7b5-2xk8q", "registry-6f9c8d7b5-h4t9m", "registry-6f9c8d7b5-zr7wc"]
    assert pod_names(await find_pods(cluster.kube, NS, REGISTRY)) == replicas
    going = copy.deepcopy(cluster.server.get("pods", NS, replicas[0]))
    going["metadata"]["deletionTimestamp"] = "2025-06-01T09:00:00Z"
    cluster.server.add(going)
    assert pod_names(await find_pods(cluster.kube, NS, REGISTRY)) == replicas[1:]
    assert pod_names(await find_pods(cluster.kube, NS, "app=registry")) == [
        *replicas[1:],
        "registry-gc-29153280-q8v2d",
    ]
    assert await find_pods(cluster.kube, "default", REGISTRY) == []


async def test_delete_pod_deletes_it_and_a_second_delete_is_not_found(cluster) -> None:
    await delete_pod(cluster.kube, NS, "registry-6f9c8d7b5-h4t9m")
    assert cluster.server.get("pods", NS, "registry-6f9c8d7b5-h4t9m") is None
    assert cluster.deleted == ["registry-6f9c8d7b5-h4t9m"]
    with pytest.raises(ApiNotFound, match="delete pod kube-system/registry-6f9c8d7b5-h4t9m"):
        await delete_pod(cluster.kube, NS, "registry-6f9c8d7b5-h4t9m")


class RequestTap(list[tuple[str, str]]):
    """Stands in for `KubeApiServer.requests`, and signals each request whose path starts with a prefix.

    The server records a request before it answers it, and answers a GET without yielding to the
    loop, so whatever a test does once signalled happens after that answer was built.
    """

    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix
        self.hit = asyncio.Event()

    def append(self, item: tuple[str, str]) -> None:
        super().append(item)
        if item[1].startswith(self.prefix):
            self.hit.set()


def replica(cluster: Cluster, name: str, *, ready: bool) -> KubeObject:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": {"app": "registry", "component": "registry"}},
        "spec": {"containers": [{"name": "registry", "image": "registry:2.8.3"}]},
        "status": {"phase": "Running" if ready else "Pending"},
    }
    return cluster.server.add(pod)


async def test_wait_ready_waits_for_new_pods_and_ignores_the_ones_replaced(cluster) -> None:
    for name in ("registry-6f9c8d7b5-h4t9m", "registry-6f9c8d7b5-zr7wc"):
        cluster.server.remove("pods", NS, name)
    old = cluster.server.get("pods", NS, "registry-6f9c8d7b5-2xk8q")
    assert old is not None and old["status"]["phase"] == "Running"
    new = replica(cluster, "registry-7a1b2c3d4-n3w00", ready=False)
    tap = RequestTap("/api/v1/namespaces/kube-system/pods?")
    cluster.server.requests = tap
    waiting = asyncio.create_task(
        wait_ready(
            cluster.kube, NS, REGISTRY, replacing={old["metadata"]["uid"]}, expected=1, timeout=30, poll=0.01
        )
    )
    await asyncio.wait_for(tap.hit.wait(), 10)
    assert not waiting.done()
    polls_before = len(tap)
    ready = copy.deepcopy(new)
    ready["status"] = {"phase": "Running"}  # the sandbox fills in Ready=True for a running pod
    cluster.server.add(ready)
    assert await asyncio.wait_for(waiting, 10) == ["registry-7a1b2c3d4-n3w00"]
    assert len(tap) > polls_before, "it polled again after the first answer said not Ready"


async def test_wait_ready_names_what_is_not_ready_at_the_deadline(cluster) -> None:
    old = cluster.server.get("pods", NS, "registry-6f9c8d7b5-2xk8q")
    assert old is not None
    replica(cluster, "registry-7a1b2c3d4-n3w00", ready=False)
    replica(cluster, "registry-7a1b2c3d4-n3w01", ready=True)
    with pytest.raises(PodsNotReady) as caught:
        await wait_ready(
            cluster.kube, NS, REGISTRY, replacing={old["metadata"]["uid"]}, expected=4, timeout=0.2, poll=0.05
        )
    message = str(caught.value)
    assert message.startswith("Only 3 of 4 pods matching app=registry,component=registry in kube-system")
    assert "registry-7a1b2c3d4-n3w00 (Pending, not Ready)" in message
    assert "Still running from before: registry-6f9c8d7b5-2xk8q" in message
