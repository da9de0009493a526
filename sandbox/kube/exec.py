"""`pods/exec` over WebSocket, as the API server and kubelet serve it, running commands locally.

The checks before the upgrade (pod, container, phase) answer with a Status like the API server's.
After the upgrade, frames are binary with the channel in the first byte (`v4.channel.k8s.io`;
`v5.channel.k8s.io` frames the same and only adds the client's channel-255 close, which a
command without stdin never needs). At the end, channel 3 carries the Status that kubelet writes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from .defaults import KubeObject
from .paths import ResourcePath
from .resources import ResourceDef
from .server import KubeApiServer
from .status import ApiError, not_found

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
"""Newest first: offered both, a current API server picks v5, and so does aiohttp here."""

STDOUT, STDERR, STATUS = 1, 2, 3
CHUNK = 64 * 1024
BASE_ENV: Mapping[str, str] = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}
"""What a container starts with; the host's own environment never leaks into a command."""


@dataclass(frozen=True)
class ExecEnvironment:
    """Where a container's commands run."""

    env: Mapping[str, str]
    """The container's environment, merged over `BASE_ENV`."""
    cwd: Path | None = None
    """The working directory (the container's `workingDir`); None: the server's own."""


ExecTarget = Callable[[KubeObject, str | None], ExecEnvironment | None]
"""(pod, container name or None) -> its environment, or None when that container cannot exec."""


class ExecService:
    """The `pods/exec` handler, the processes it runs, and a fault that cuts streams."""

    def __init__(self, server: KubeApiServer, target: ExecTarget) -> None:
        self._server = server
        self._target = target
        self._cut_after: int | None = None
        self._idle = asyncio.Condition()
        self.running: dict[int, list[str]] = {}
        """pid -> argv of the commands running right now."""
        self.started: list[list[str]] = []
        """argv of every command started, in order."""

    def cut_after_bytes(self, nbytes: int | None) -> None:
        """Hang up (no close frame, no status) once `nbytes` of output were sent; None: never."""
        self._cut_after = nbytes

    async def wait_idle(self) -> None:
        """Return once no command is running: every process has been killed or has exited, and was reaped."""
        async with self._idle:
            await self._idle.wait_for(lambda: not self.running)

    async def handle(self, request: web.Request, res: ResourceDef, where: ResourcePath) -> web.StreamResponse:
        """Serve one exec request: check it as the API server does, upgrade, run, report."""
        assert where.name is not None
        if request.method not in ("GET", "POST"):
            raise ApiError(405, "the server does not allow this method on the requested resource")
        pod = self._server.store.get(res, where.namespace, where.name)
        if pod is None:
            raise not_found(res.plural, where.name)
        command = request.query.getall("command", [])
        if not command:
            raise ApiError(400, "you must specify at least one command for the container")
        streams = {k: request.query.get(k, "") in ("1", "true") for k in ("stdin", "stdout", "stderr")}
        if not any(streams.values()):
            raise ApiError(400, "you must specify at least 1 of stdin, stdout, stderr")
        container = _container(pod, request.query.get("container"))
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            raise ApiError(400, f"cannot exec into a container in a completed pod; current phase is {phase}")
        environment = self._target(pod, container)
        if environment is None:
            raise ApiError(500, f'unable to upgrade connection: container not found ("{container}")')
        ws = web.WebSocketResponse(protocols=PROTOCOLS)
        if not ws.can_prepare(request).ok:
            raise ApiError(400, "Upgrade request required")
        await ws.prepare(request)
        await self._run(request, ws, command, environment, streams["stdout"], streams["stderr"])
        return ws

    async def _run(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        argv: list[str],
        environment: ExecEnvironment,
        stdout: bool,
        stderr: bool,
    ) -> None:
        pipe, devnull = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
        self.started.append(list(argv))
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=devnull,
                stdout=pipe if stdout else devnull,
                stderr=pipe if stderr else devnull,
                env={**BASE_ENV, **environment.env},
                cwd=environment.cwd,
                start_new_session=True,  # its own process group: a hang-up kills its children too
            )
        except OSError as err:
            with contextlib.suppress(ConnectionError):
                await _finish(ws, _internal_error(_start_failure(argv[0], err)))
            return
        self.running[proc.pid] = list(argv)
        sent = [0]
        pumps = [
            self._pump(request, ws, channel, stream, sent)
            for channel, stream in ((STDOUT, proc.stdout), (STDERR, proc.stderr))
            if stream is not None
        ]
        work = asyncio.ensure_future(asyncio.gather(*pumps, proc.wait()))
        hangup = asyncio.ensure_future(_client_gone(ws))
        try:
            await asyncio.wait((work, hangup), return_when=asyncio.FIRST_COMPLETED)
            if work.done() and work.exception() is None:
                assert proc.returncode is not None
                await _finish(ws, _exit_status(argv, proc.returncode))
        except ConnectionError:
            pass  # the client went away while we wrote to it: nobody is left to tell
        finally:
            # A client that left, a cut stream or a server shutdown ends the command, as kubelet's
            # hang-up would: kill the whole group, so that no child is orphaned.
            _kill(proc)
            for task in (work, hangup):
                task.cancel()
            await asyncio.gather(work, hangup, return_exceptions=True)
            # Process.wait() also waits for the pipes to close, and a pipe no one reads never does.
            for stream in (proc.stdout, proc.stderr):
                while stream is not None and await stream.read(CHUNK):
                    pass
            await proc.wait()
            async with self._idle:
                self.running.pop(proc.pid, None)
                self._idle.notify_all()

    async def _pump(
        self,
        request: web.Request,
        ws: web.WebSocketResponse,
        channel: int,
        stream: asyncio.StreamReader,
        sent: list[int],
    ) -> None:
        prefix = bytes([channel])
        while chunk := await stream.read(CHUNK):
            limit = self._cut_after
            if limit is not None and sent[0] + len(chunk) >= limit:
                chunk = chunk[: max(0, limit - sent[0])]
                if chunk:
                    await ws.send_bytes(prefix + chunk)
                    sent[0] += len(chunk)
                if request.transport is not None:
                    request.transport.close()  # flushes what was sent, then hangs up without a close frame
                raise ConnectionResetError("sandbox: exec stream cut")
            # send_bytes waits while the client is slow to read: that is the backpressure.
            await ws.send_bytes(prefix + chunk)
            sent[0] += len(chunk)


def serve_exec(server: KubeApiServer, target: ExecTarget) -> ExecService:
    """Serve `pods/exec` on `server`, running each command as a local process in `target`'s environment."""
    service = ExecService(server, target)
    server.route_subresource("pods", "exec", service.handle)
    return service


def _container(pod: KubeObject, wanted: str | None) -> str | None:
    """The container to run in; like the API server, only a pod with one container may omit it."""
    names = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    podname = pod["metadata"]["name"]
    if wanted:
        if names and wanted not in names:
            raise ApiError(400, f"container {wanted} is not valid for pod {podname}")
        return wanted
    if len(names) > 1:
        choices = " ".join(str(n) for n in names)
        raise ApiError(
            400, f"a container name must be specified for pod {podname}, choose one of: [{choices}]"
        )
    return str(names[0]) if names else None


async def _client_gone(ws: web.WebSocketResponse) -> None:
    """Return when the client closes or drops the connection; what it sends (stdin, resize) is ignored."""
    async for msg in ws:
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.ERROR):
            return


async def _finish(ws: web.WebSocketResponse, status: Mapping[str, Any]) -> None:
    payload = json.dumps(status, separators=(",", ":")).encode()
    await ws.send_bytes(bytes([STATUS]) + payload)
    await ws.close()


def _exit_status(argv: list[str], code: int) -> dict[str, Any]:
    """kubelet's Status for a command that ran; a signal shows as 128+N, as container runtimes report it."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    if code < 0:
        code = 128 - code
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
        f"[{' '.join(argv)}], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def _start_failure(program: str, err: OSError) -> str:
    """runc's words for a command that cannot start."""
    if isinstance(err, FileNotFoundError):
        why = (
            f"stat {program}: no such file or directory"
            if "/" in program
            else ("executable file not found in $PATH")
        )
    elif isinstance(err, PermissionError):
        why = "permission denied"
    else:
        why = err.strerror or type(err).__name__
    return (
        "error executing command in container: failed to exec in container: OCI runtime exec failed: "
        f'exec failed: unable to start container process: exec: "{program}": {why}: unknown'
    )


def _internal_error(cause: str) -> dict[str, Any]:
    """apierrors.NewInternalError, which kubelet sends when the command did not run at all."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {cause}",
        "reason": "InternalError",
        "details": {"causes": [{"message": cause}]},
        "code": 500,
    }


def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL the command's process group, children left behind by an exited command included."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
