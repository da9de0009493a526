"""MinIO from inside its pod: every `mc` command regclean runs, the purge, and the registry restart.

The purge empties the bucket, proves it empty and restarts the registry pods.

Each command runs through the Kubernetes API's pod exec; its outcome comes from the exec status
channel, and a cut stream is `outcome unknown`, never success. The MinIO keys stay inside the
pod: the command reads them from its env file, so regclean never holds them.
"""

from __future__ import annotations

import asyncio
import json
import shlex
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from actions.errors import ActionError
from actions.kube import KubeClient
from actions.kube_exec import ExecResult, delete_pod, exec_lines, find_pods, wait_ready
from actions.pod_ready import is_ready

Progress = Callable[[int], Awaitable[None]]


@dataclass(frozen=True)
class MinioTarget:
    """Where MinIO runs and which bucket the registry keeps its data in."""

    namespace: str
    selector: str
    """The label selector of the MinIO pods (one per control-plane node is common); `minio_pod` picks one."""
    container: str | None
    env_file: str
    """The file inside the pod that holds `MINIO_ACCESS_KEY` and `MINIO_SECRET_KEY`."""
    url: str
    """MinIO's URL as seen from inside its pod."""
    bucket: str
    purge_timeout: float = 6 * 3600.0
    """Seconds the removal may take."""


@dataclass(frozen=True)
class RegistryPods:
    """The registry's pods, restarted after the purge so that no stale blob cache survives."""

    namespace: str
    selector: str
    ready_timeout: float = 600.0
    """Seconds to wait for Ready replacements."""


@dataclass(frozen=True)
class PurgeResult:
    """What the purge did to the bucket and the registry."""

    pod: str
    bucket: str
    bytes_before: int | None
    objects_before: int | None
    removed: int
    """Objects the purge command reported removed."""
    bytes_after: int | None
    objects_after: int | None
    empty: bool
    """`mc ls --recursive` printed nothing afterwards."""
    restarted: tuple[str, ...]
    """The registry pods that are Ready again after the restart (their new names)."""
    registry_ready: bool
    problem: str | None = None


class PurgeFailed(ActionError):
    """The purge did not provably succeed; `result` holds what is known."""

    def __init__(self, message: str, result: PurgeResult) -> None:
        super().__init__(message)
        self.result = result


async def minio_pod(kube: KubeClient, minio: MinioTarget) -> dict[str, Any]:
    """The MinIO pod to run `mc` in: the first Ready one by name of those the selector matches.

    MinIO often runs one pod per control-plane node, all serving the same bucket, so any Ready
    one will do; choosing by name keeps the choice (and with it the approved plan) stable.
    Refuses when no pod matches, or none is Ready, naming each pod with its phase.
    """
    pods = await find_pods(kube, minio.namespace, minio.selector)
    where = f"namespace {minio.namespace} with selector {minio.selector}"
    if not pods:
        raise ActionError(
            f"No MinIO pod in {where}. Check REGCLEAN_MINIO_NAMESPACE and REGCLEAN_MINIO_SELECTOR."
        )
    by_name = sorted(pods, key=_name)
    ready = [p for p in by_name if is_ready(p)]
    if not ready:
        states = ", ".join(f"{_name(p)} ({_phase(p)}, not Ready)" for p in by_name)
        raise ActionError(
            f"None of the {len(pods)} MinIO pods in {where} is Ready: {states}. The purge needs a Ready "
            "MinIO pod to run `mc` in; wait until one is (`kubectl get pods` shows why not), then ask again."
        )
    return dict(ready[0])


def _name(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("name"))


def _phase(pod: Mapping[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "no phase")


@dataclass
class _Counter:
    removed: int = 0

    def line(self, channel: int, text: str) -> None:
        # Called in the exec's worker thread: only an integer changes here.
        if channel == 1 and text.startswith("Removed "):
            self.removed += 1


async def purge(
    kube: KubeClient, minio: MinioTarget, registry: RegistryPods, pod: str, progress: Progress
) -> PurgeResult:
    """Measure the bucket, empty it, prove it is empty, and restart the registry pods."""
    bucket = minio.bucket
    result = PurgeResult(pod, bucket, None, None, 0, None, None, False, (), False)
    before = await bucket_usage(kube, minio, pod)
    result = replace(result, bytes_before=_at(before, 0), objects_before=_at(before, 1))
    counter = _Counter()
    reporter = asyncio.create_task(_report(counter, progress))
    try:
        done = await _exec(kube, minio, pod, purge_command(minio), counter.line, minio.purge_timeout)
    finally:
        reporter.cancel()
    result = replace(result, removed=counter.removed)
    await progress(counter.removed)
    if done.exit_code is None:
        raise PurgeFailed(
            f"Purge failed (outcome unknown): {done.message}. {counter.removed:,} objects were reported removed; "
            "the bucket may be partly emptied. Check it in the MinIO pod with `mc ls`; restoring stays blocked.",
            result,
        )
    if done.exit_code != 0:
        raise PurgeFailed(
            f"The purge command exited with status {done.exit_code} after {counter.removed:,} objects: "
            + _tail(done),
            result,
        )
    remaining = await _listing(kube, minio, pod)
    after = await bucket_usage(kube, minio, pod)
    result = replace(result, empty=remaining == 0, bytes_after=_at(after, 0), objects_after=_at(after, 1))
    if remaining:
        raise PurgeFailed(f"The bucket {bucket} still holds {remaining:,} objects after the purge.", result)
    try:
        restarted = await restart_registry(kube, registry)
    except ActionError as exc:
        raise PurgeFailed(
            f"The bucket {bucket} is empty, but the registry restart was not confirmed: {exc} "
            "Restoring stays blocked until the registry pods are restarted and Ready.",
            result,
        ) from None
    return replace(result, restarted=restarted, registry_ready=True)


async def restart_registry(kube: KubeClient, registry: RegistryPods) -> tuple[str, ...]:
    """Delete the registry pods and wait for Ready replacements: no stale blob cache survives."""
    ns, selector = registry.namespace, registry.selector
    pods = await find_pods(kube, ns, selector)
    if not pods:
        raise ActionError(
            f"No registry pods in namespace {ns} with selector {selector}; nothing was restarted. "
            "Check REGCLEAN_REGISTRY_NAMESPACE and REGCLEAN_REGISTRY_SELECTOR."
        )
    uids = [str((p.get("metadata") or {}).get("uid")) for p in pods]
    for p in pods:
        await delete_pod(kube, ns, str((p.get("metadata") or {}).get("name")))
    ready = await wait_ready(
        kube,
        ns,
        selector,
        replacing=uids,
        expected=len(pods),
        timeout=registry.ready_timeout,
    )
    return tuple(ready)


async def _exec(
    kube: KubeClient,
    minio: MinioTarget,
    pod: str,
    script: str,
    sink: Callable[[int, str], None],
    seconds: float,
) -> ExecResult:
    return await exec_lines(
        kube, minio.namespace, pod, ["sh", "-c", script], sink, container=minio.container, timeout=seconds
    )


def _alias(minio: MinioTarget, *, quiet: bool = True) -> str:
    """Load the keys from the pod's env file and name the server `minio` for the commands after it."""
    return (
        f". {shlex.quote(minio.env_file)} && mc --insecure alias set minio "
        f'{shlex.quote(minio.url)} "$MINIO_ACCESS_KEY" "$MINIO_SECRET_KEY"' + (" >/dev/null" if quiet else "")
    )


def _bucket_path(minio: MinioTarget) -> str:
    return shlex.quote(f"minio/{minio.bucket}/")


def purge_command(minio: MinioTarget) -> str:
    """The runbook's purge command, with the configured env file, URL and bucket (quoted)."""
    return f"{_alias(minio, quiet=False)} && mc --insecure rm --recursive --force {_bucket_path(minio)}"


async def bucket_usage(kube: KubeClient, minio: MinioTarget, pod: str) -> tuple[int, int] | None:
    """`mc du --json` in the MinIO pod: the bucket's bytes and objects; None when it cannot be read."""
    lines: list[str] = []

    def keep(channel: int, text: str) -> None:
        if channel == 1 and len(lines) < 100:
            lines.append(text)

    script = f"{_alias(minio)} && mc --insecure du --json {shlex.quote('minio/' + minio.bucket)}"
    done = await _exec(kube, minio, pod, script, keep, 300)
    if done.exit_code != 0:
        return None
    for line in reversed(lines):
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "size" in doc:
            return int(doc["size"]), int(doc.get("objects", 0))
    return None


async def _listing(kube: KubeClient, minio: MinioTarget, pod: str) -> int:
    """How many objects `mc ls --recursive` still lists (0: the bucket is provably empty)."""
    counter = _Counter()

    def count(channel: int, text: str) -> None:
        if channel == 1 and text.strip():
            counter.removed += 1

    script = f"{_alias(minio)} && mc --insecure ls --recursive {_bucket_path(minio)}"
    done = await _exec(kube, minio, pod, script, count, 3600)
    if done.exit_code != 0:
        state = "unknown" if done.exit_code is None else f"status {done.exit_code}"
        raise ActionError(f"Listing the bucket after the purge failed ({state}): {_tail(done)}")
    return counter.removed


def _at(measured: tuple[int, int] | None, index: int) -> int | None:
    return None if measured is None else measured[index]


def _tail(done: ExecResult) -> str:
    lines = [line for line in done.tail if line.strip()][-5:]
    return " | ".join(lines) or done.message or "no output"


async def _report(counter: _Counter, progress: Progress) -> None:
    """Progress in place at most once a second, only when it moved."""
    shown = -1
    while True:
        await asyncio.sleep(1.0)
        if counter.removed != shown:
            shown = counter.removed
            await progress(shown)
