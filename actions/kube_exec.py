"""Commands in pods over the exec WebSocket, and deleting pods: what `KubeClient` does not do.

`mc rm --recursive` prints one line per object removed: millions. The python client's own
reader (`WSClient.update`, `read_stdout`) gathers every available frame into one string, so
here the client only opens the authenticated socket (kubeconfig auth and TLS as everywhere
else), and the frames are read one at a time in a worker thread and handed on line by line.
Memory stays bounded by one frame, one partial line per channel and the tail.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import kubernetes.client
import kubernetes.stream
import urllib3
import websocket
from kubernetes.client.exceptions import ApiException

from actions.errors import ActionError, ApiError, ApiForbidden, ApiNotFound, ApiUnauthorized, ApiUnreachable
from actions.kube import REQUEST_TIMEOUT, KubeClient, _status_message
from actions.output_lines import LineSink, LineSplitter
from actions.pod_ready import find_pods, wait_ready

__all__ = ["ExecResult", "LineSink", "delete_pod", "exec_lines", "find_pods", "wait_ready"]

STDOUT, STDERR, STATUS = 1, 2, 3
NO_EXIT_CODE = -1
"""`exit_code` of a command that failed without one: it did not start, or the runtime failed."""
CLOSE_WAIT = 1.0
OPEN_GRACE = 10.0
"""How much longer than `timeout` the handshake may take before the exec is abandoned."""

WebSocket = Any
"""A `websocket.WebSocket`; its `close`, `abort` and `shutdown` are unannotated, which strict mypy refuses."""


@dataclass(frozen=True)
class ExecResult:
    """How a command in a pod ended."""

    exit_code: int | None
    """0 success; >0 the command's exit code; -1 failed without one (did not start); None: unknown."""
    message: str
    """The status in words, or why the outcome is unknown. Never echoes the command's arguments."""
    stdout_lines: int
    """Lines received on stdout."""
    stderr_lines: int
    """Lines received on stderr."""
    tail: tuple[str, ...]
    """The last lines of stdout and stderr, interleaved as received, for error reports."""

    @property
    def succeeded(self) -> bool:
        """True only when the status said Success: an unknown outcome is never a success."""
        return self.exit_code == 0


async def exec_lines(
    kube: KubeClient,
    namespace: str,
    pod: str,
    command: Sequence[str],
    on_line: LineSink,
    *,
    container: str | None = None,
    timeout: float,  # noqa: ASYNC109 - the worker thread enforces it: asyncio cannot cancel a thread
) -> ExecResult:
    """Run `command` (argv, no shell added) in a pod, handing each output line to `on_line`.

    Raises an `ActionError` when the exec cannot be opened (no such pod, forbidden, API
    unreachable). Once it is open every outcome is an `ExecResult`: a timeout or a cut stream
    gives `exit_code=None`, since the command may still be running in the pod.
    """
    if timeout <= 0:
        raise ValueError("timeout must be positive")
    session = _ExecSession(kube, namespace, pod, list(command), container, on_line, timeout)
    worker = asyncio.ensure_future(asyncio.to_thread(session.run))
    worker.add_done_callback(_retrieve)
    try:
        done, _ = await asyncio.wait({worker}, timeout=timeout + OPEN_GRACE)
    except asyncio.CancelledError:
        session.abandon()
        raise
    if worker in done:
        return worker.result()
    session.abandon()
    return session.unknown(f"the exec did not open within {timeout + OPEN_GRACE:g} s")


async def delete_pod(kube: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    """Delete a pod gracefully, as `kubectl delete pod` does; raises `ApiNotFound` when there is none.

    Returns the API server's answer: the Pod marked for deletion (its `deletionTimestamp` is the
    server's time of the delete plus the grace period), or {} when the answer was not a JSON object.
    """
    return await asyncio.to_thread(_delete_sync, kube, namespace, name)


class _ExecSession:
    """One exec, run in a worker thread; `abandon` (from any thread) ends it at once."""

    def __init__(
        self,
        kube: KubeClient,
        namespace: str,
        pod: str,
        argv: list[str],
        container: str | None,
        on_line: LineSink,
        timeout: float,
    ) -> None:
        self._kube = kube
        self._namespace, self._pod, self._argv, self._container = namespace, pod, argv, container
        self._where = f"{namespace}/{pod}"
        self._timeout = timeout
        self._lines = LineSplitter(on_line, (STDOUT, STDERR))
        self._lock = threading.Lock()
        self._abandoned = False
        self._sock: WebSocket | None = None

    def abandon(self) -> None:
        """Stop reading and hang up; wakes the worker if it is blocked on the socket."""
        with self._lock:
            self._abandoned = True
            sock = self._sock
        if sock is not None:
            sock.abort()

    def unknown(self, why: str) -> ExecResult:
        """The result when no exit status was read."""
        return self._result(
            None, f"outcome unknown: {why}; the command may still be running in pod {self._where}"
        )

    def run(self) -> ExecResult:
        """Open the exec, read it up to its status, and close it."""
        deadline = time.monotonic() + self._timeout
        # A client of its own: `stream` swaps `call_api` on the client it is given, which would
        # divert the requests that other threads make through the shared one.
        api: Any = kubernetes.client.ApiClient(self._kube.api_client.configuration)
        try:
            sock = self._open(api)
            with self._lock:
                if self._abandoned:
                    sock.shutdown()
                    return self.unknown("the exec was abandoned")
                self._sock = sock
            result: ExecResult | None = None
            try:
                result = self._read(sock, deadline)
                return result
            finally:
                if result is not None and result.exit_code is not None:
                    sock.close(timeout=CLOSE_WAIT)
                sock.shutdown()  # close() leaves the socket open once the server's close frame was read
        finally:
            api.close()

    def _open(self, api: Any) -> WebSocket:
        options: dict[str, Any] = {"stdin": False, "stdout": True, "stderr": True, "tty": False}
        if self._container:
            options["container"] = self._container
        core = kubernetes.client.CoreV1Api(api)
        try:
            client = kubernetes.stream.stream(
                core.connect_get_namespaced_pod_exec,
                self._pod,
                self._namespace,
                command=self._argv,
                _preload_content=False,
                **options,
            )
        except ApiException as exc:
            # Only what we build is reported: the library's text may carry the URL, and so the command.
            raise _open_error(exc.__context__, self._where, self._kube.server) from None
        return client.sock

    def _read(self, sock: WebSocket, deadline: float) -> ExecResult:
        status = bytearray()
        while not self._abandoned:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                sock.settimeout(remaining)
                opcode, frame = sock.recv_data_frame(True)
            except (websocket.WebSocketTimeoutException, TimeoutError):
                break
            except (websocket.WebSocketException, OSError, AttributeError) as exc:
                # AttributeError: `abandon` shut the socket down under us.
                self._lines.flush()
                return self.unknown(f"the stream was cut without an exit status ({type(exc).__name__})")
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                self._lines.flush()
                return self.unknown("the stream closed without an exit status")
            data = frame.data
            if opcode != websocket.ABNF.OPCODE_BINARY or not data:
                continue
            channel = data[0]
            if channel in (STDOUT, STDERR):
                self._lines.feed(channel, data[1:])
            elif channel == STATUS:
                # kubelet writes the status once, after all the output: nothing follows it.
                status += data[1:]
                self._lines.flush()
                return self._status(bytes(status))
        if self._abandoned:
            return self.unknown("the exec was abandoned")
        return self.unknown(f"no exit status within {self._timeout:g} s")

    def _status(self, raw: bytes) -> ExecResult:
        try:
            status = json.loads(raw)
        except ValueError:
            return self.unknown("the exit status was not JSON")
        if not isinstance(status, dict) or status.get("status") not in ("Success", "Failure"):
            return self.unknown("the exit status was not a Success or Failure Status")
        if status["status"] == "Success":
            return self._result(0, "Success")
        if status.get("reason") == "NonZeroExitCode":
            for cause in (status.get("details") or {}).get("causes") or []:
                if isinstance(cause, dict) and cause.get("reason") == "ExitCode":
                    code = str(cause.get("message", ""))
                    if code.isdigit():
                        return self._result(int(code), f"command terminated with exit code {code}")
        # The server echoes the command line in its message, and an argument may be a secret.
        message = str(status.get("message") or status.get("reason") or "no message")
        for arg in self._argv[1:]:
            if len(arg) >= 3:
                message = message.replace(arg, "…")
        return self._result(NO_EXIT_CODE, f"command failed: {message[:500]}")

    def _result(self, code: int | None, message: str) -> ExecResult:
        lines = self._lines
        return ExecResult(code, message, lines.counts[STDOUT], lines.counts[STDERR], tuple(lines.tail))


def _open_error(cause: BaseException | None, where: str, server: str) -> ActionError:
    """Our error for an exec that could not be opened, from what the websocket layer raised."""
    if isinstance(cause, websocket.WebSocketBadStatusException):
        return _refused(
            int(cause.status_code or 0), cause.resp_body, "exec in", where, "create and get on pods/exec"
        )
    if isinstance(cause, OSError):
        return ApiUnreachable(
            f"Cannot reach the Kubernetes API at {server} to exec in pod {where}: "
            f"{cause.strerror or type(cause).__name__}. Check KUBECONFIG and the network path to the cluster."
        )
    what = type(cause).__name__ if cause is not None else "unknown error"
    return ApiError(f"The exec in pod {where} could not be opened ({what}).")


def _delete_sync(kube: KubeClient, namespace: str, name: str) -> dict[str, Any]:
    api: Any = kube.api_client
    path = f"/api/v1/namespaces/{quote(namespace, safe='')}/pods/{quote(name, safe='')}"
    where = f"{namespace}/{name}"
    request = api.param_serialize(
        method="DELETE",
        resource_path=path,
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    try:
        response = api.call_api(*request, _request_timeout=REQUEST_TIMEOUT)
        status, body = int(response.status), response.read()
    except (ApiException, urllib3.exceptions.HTTPError) as exc:
        status, body = int(getattr(exc, "status", 0) or 0), getattr(exc, "body", None)
        if not status:  # no answer at all, or the TLS handshake failed
            raise ApiUnreachable(
                f"Cannot reach the Kubernetes API at {kube.server} to delete pod {where}: {type(exc).__name__}."
            ) from None
    if status >= 400:
        raise _refused(status, body, "delete", where, "delete on pods")
    try:
        answer = json.loads(body or b"{}")
    except (TypeError, ValueError):
        return {}
    return answer if isinstance(answer, dict) else {}


def _refused(status: int, body: object, doing: str, where: str, grant: str) -> ActionError:
    """Our error for an API answer that refused to `doing` pod `where`."""
    detail = _status_message(body)[:300]
    said = f": {detail}" if detail else ""
    if status == 401:
        return ApiUnauthorized(f"The Kubernetes API refused our credentials (401) to {doing} pod {where}.")
    if status == 403:
        return ApiForbidden(
            f"The Kubernetes API forbade us to {doing} pod {where} (403){said}. "
            f"Grant regclean's account {grant} in that namespace."
        )
    if status == 404:
        return ApiNotFound(f"Cannot {doing} pod {where}: not found (404){said}.")
    return ApiError(f"The Kubernetes API answered {status} when asked to {doing} pod {where}{said}.")


def _retrieve(task: asyncio.Future[ExecResult]) -> None:
    """Read an abandoned worker's outcome, so that asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()
