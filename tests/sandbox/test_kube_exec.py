"""`pods/exec` of the simulated API server, through the real Python client and at the wire."""

from __future__ import annotations

import asyncio
import json
import os
import select
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.stream import stream

from sandbox.kube import KubeApiServer
from sandbox.kube.defaults import KubeObject
from sandbox.kube.exec import ExecEnvironment, ExecService, serve_exec
from sandbox.kube.fixtures import load_fixture

MINIO = "/api/v1/namespaces/kube-system/pods/minio-0/exec"


@dataclass
class Exec:
    server: KubeApiServer
    service: ExecService
    kubeconfig: Path
    workdir: Path
    asked: list[tuple[str, str | None]]


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[Exec]:
    """The sample cluster; only minio-0 can exec, with a MinIO-like environment."""
    asked: list[tuple[str, str | None]] = []

    def target(pod: KubeObject, container: str | None) -> ExecEnvironment | None:
        asked.append((pod["metadata"]["name"], container))
        if pod["metadata"]["name"] != "minio-0":
            return None
        return ExecEnvironment({"MINIO_ACCESS_KEY": "sandbox-access"}, cwd=tmp_path)

    fixture = load_fixture()
    server = KubeApiServer(fixture.objects, fixture.resources)
    service = serve_exec(server, target)
    await server.start()
    yield Exec(server, service, server.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path, asked)
    await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def python_client_exec(kubeconfig: Path, command: list[str], pod: str = "minio-0") -> dict[str, Any]:
    """What `kubernetes.stream.stream` reads, as a caller of the real client would do it."""
    api_client = k8s_config.new_client_from_config(config_file=str(kubeconfig))
    try:
        core = k8s.CoreV1Api(api_client)
        ws = stream(
            core.connect_get_namespaced_pod_exec,
            pod,
            "kube-system",
            command=command,
            stderr=True,
            stdin=False,
            stdout=True,
            tty=False,
            _preload_content=False,
        )
        try:
            ws.run_forever(timeout=30)
            out = {"protocol": ws.subprotocol, "stdout": ws.read_stdout(), "stderr": ws.read_stderr()}
            out["status"] = ws.read_channel(3)
            return out
        finally:
            ws.close()
            if ws.sock is not None:
                ws.sock.shutdown()  # websocket-client leaves it open once the server closed first
    finally:
        api_client.close()


def frames_of(messages: list[aiohttp.WSMessage]) -> dict[int, bytes]:
    """The payload of each channel, joined in order."""
    out: dict[int, bytes] = {}
    for msg in messages:
        assert msg.type is aiohttp.WSMsgType.BINARY, msg
        out[msg.data[0]] = out.get(msg.data[0], b"") + msg.data[1:]
    return out


async def wire_exec(
    http: aiohttp.ClientSession, server: KubeApiServer, argv: list[str], protocols: tuple[str, ...]
) -> tuple[str | None, list[aiohttp.WSMessage], aiohttp.WSMessage]:
    """(chosen protocol, data messages, the message that ended the stream)."""
    query = [("command", a) for a in argv] + [("stdout", "true"), ("stderr", "true")]
    async with http.ws_connect(server.url + MINIO, params=query, protocols=protocols) as ws:
        messages = []
        async for msg in ws:
            messages.append(msg)
        return ws.protocol, messages, await ws.receive()


# --- the real Python client ----------------------------------------------------------------------


async def test_python_client_reads_stdout_stderr_and_the_exit_code(sandbox) -> None:
    got = await asyncio.to_thread(
        python_client_exec, sandbox.kubeconfig, ["sh", "-c", "echo out; echo err >&2; exit 3"]
    )
    assert got["protocol"] == "v5.channel.k8s.io"
    assert (got["stdout"], got["stderr"]) == ("out\n", "err\n")
    status = json.loads(got["status"])
    assert status["reason"] == "NonZeroExitCode"
    assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]
    assert sandbox.service.started == [["sh", "-c", "echo out; echo err >&2; exit 3"]]
    assert sandbox.asked == [("minio-0", "minio")]


async def test_argv_is_passed_exactly_without_a_shell(sandbox) -> None:
    argv = ["printf", "%s|", "a b", "$HOME", "*", "--flag=x&y"]
    got = await asyncio.to_thread(python_client_exec, sandbox.kubeconfig, argv)
    assert got["stdout"] == "a b|$HOME|*|--flag=x&y|"
    assert json.loads(got["status"]) == {"metadata": {}, "status": "Success"}


async def test_the_command_gets_the_containers_environment_not_the_hosts(sandbox, monkeypatch) -> None:
    monkeypatch.setenv("REGCLEAN_HOST_ONLY", "leak")
    got = await asyncio.to_thread(python_client_exec, sandbox.kubeconfig, ["sh", "-c", "env; pwd"])
    lines = got["stdout"].splitlines()
    env = dict(line.split("=", 1) for line in lines[:-1] if "=" in line)
    assert env["MINIO_ACCESS_KEY"] == "sandbox-access"
    assert env["PATH"].startswith("/usr/local/sbin:") and env["LANG"] == "C.UTF-8"
    assert "REGCLEAN_HOST_ONLY" not in env
    assert lines[-1] == str(sandbox.workdir)


# --- the wire ------------------------------------------------------------------------------------


async def test_v4_alone_is_served_with_binary_frames_and_kubelets_status(sandbox, http) -> None:
    argv = ["sh", "-c", "echo a; echo b >&2; exit 7"]
    protocol, messages, end = await wire_exec(http, sandbox.server, argv, ("v4.channel.k8s.io",))
    assert protocol == "v4.channel.k8s.io"
    channels = frames_of(messages)
    assert (channels[1], channels[2]) == (b"a\n", b"b\n")
    assert messages[-1].data[0] == 3, "the status comes last"
    assert json.loads(channels[3]) == {
        "metadata": {},
        "status": "Failure",
        "message": "command terminated with non-zero exit code: error executing command "
        "[sh -c echo a; echo b >&2; exit 7], exit code 7",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": "7"}]},
    }
    assert end.type is aiohttp.WSMsgType.CLOSED


async def test_success_status_is_exactly_kubelets(sandbox, http) -> None:
    offered = ("v5.channel.k8s.io", "v4.channel.k8s.io")
    protocol, messages, _ = await wire_exec(http, sandbox.server, ["true"], offered)
    assert protocol == "v5.channel.k8s.io"
    assert [m.data for m in messages] == [b'\x03{"metadata":{},"status":"Success"}']


async def test_a_command_that_does_not_exist_fails_as_runc_reports_it(sandbox, http) -> None:
    _, messages, _ = await wire_exec(http, sandbox.server, ["no-such-program", "x"], ("v4.channel.k8s.io",))
    status = json.loads(frames_of(messages)[3])
    assert (status["status"], status["reason"], status["code"]) == ("Failure", "InternalError", 500)
    assert 'exec: "no-such-program": executable file not found in $PATH' in status["message"]
    assert status["message"].startswith("Internal error occurred: ")
    assert "ExitCode" not in json.dumps(status)


async def test_large_output_arrives_whole_in_frames_of_at_most_64_kib(sandbox, http) -> None:
    argv = ["python3", "-c", "import sys; sys.stdout.write('x' * 3_000_000)"]
    _, messages, _ = await wire_exec(http, sandbox.server, argv, ("v4.channel.k8s.io",))
    assert frames_of(messages)[1] == b"x" * 3_000_000
    assert max(len(m.data) for m in messages) <= 64 * 1024 + 1


async def test_cut_stream_hangs_up_after_n_bytes_without_a_status(sandbox, http) -> None:
    sandbox.service.cut_after_bytes(1000)
    argv = ["python3", "-c", "print('0123456789' * 100_000)"]
    _, messages, end = await wire_exec(http, sandbox.server, argv, ("v4.channel.k8s.io",))
    channels = frames_of(messages)
    assert channels == {1: b"0123456789" * 100}
    assert end.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR)
    await asyncio.wait_for(sandbox.service.wait_idle(), 10)


async def test_a_client_that_leaves_gets_the_command_and_its_children_killed(sandbox, http) -> None:
    query = [("command", "sh"), ("command", "-c"), ("command", "sleep 300 & echo $!; wait"), ("stdout", "1")]
    async with http.ws_connect(sandbox.server.url + MINIO, params=query) as ws:
        first = await ws.receive_bytes(timeout=10)
        child = int(first[1:])
        pidfd = os.pidfd_open(child)
        assert len(sandbox.service.running) == 1
    try:
        await asyncio.wait_for(sandbox.service.wait_idle(), 10)
        assert sandbox.service.running == {}
        # A pidfd becomes readable when its process has ended: `sleep` did not outlive the shell.
        readable, _, _ = await asyncio.to_thread(select.select, [pidfd], [], [], 10)
        assert readable == [pidfd]
    finally:
        os.close(pidfd)


# --- refusals before the upgrade, as Status objects ------------------------------------------------


async def status_of(http: aiohttp.ClientSession, server: KubeApiServer, path: str, **query: str) -> Any:
    params = [("command", "true"), ("stdout", "true"), *query.items()]
    async with http.get(server.url + path, params=params) as resp:
        body = await resp.json()
        assert body["code"] == resp.status
        return body


async def test_exec_in_a_missing_pod_is_404_not_found(sandbox, http) -> None:
    body = await status_of(http, sandbox.server, "/api/v1/namespaces/kube-system/pods/nope/exec")
    assert (body["kind"], body["reason"], body["message"]) == ("Status", "NotFound", 'pods "nope" not found')
    assert sandbox.service.started == []


async def test_a_container_that_is_not_in_the_pod_is_400(sandbox, http) -> None:
    body = await status_of(http, sandbox.server, MINIO, container="mc")
    assert (body["code"], body["reason"]) == (400, "BadRequest")
    assert body["message"] == "container mc is not valid for pod minio-0"


async def test_a_container_that_cannot_exec_is_refused_with_a_status(sandbox, http) -> None:
    path = "/api/v1/namespaces/kube-system/pods/registry-6f9c8d7b5-2xk8q/exec"
    body = await status_of(http, sandbox.server, path)
    assert body["code"] == 500
    assert body["message"] == 'unable to upgrade connection: container not found ("registry")'
    assert ("registry-6f9c8d7b5-2xk8q", "registry") in sandbox.asked


async def test_a_completed_pod_and_a_plain_get_are_refused(sandbox, http) -> None:
    path = "/api/v1/namespaces/kube-system/pods/registry-gc-29153280-q8v2d/exec"
    body = await status_of(http, sandbox.server, path)
    assert body["code"] == 400 and "completed pod; current phase is Succeeded" in body["message"]
    body = await status_of(http, sandbox.server, MINIO)
    assert (body["code"], body["message"]) == (400, "Upgrade request required")
    assert sandbox.service.started == []


async def test_an_exec_without_command_or_streams_is_400(sandbox, http) -> None:
    async with http.get(sandbox.server.url + MINIO, params={"stdout": "true"}) as resp:
        assert resp.status == 400
        assert "at least one command" in (await resp.json())["message"]
    async with http.get(sandbox.server.url + MINIO, params={"command": "true"}) as resp:
        assert resp.status == 400
        assert "at least 1 of stdin, stdout, stderr" in (await resp.json())["message"]
