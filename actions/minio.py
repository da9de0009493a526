"""MinIO from inside its pod: every `mc` command regclean runs, the purge, and the registry restart.

The purge empties the bucket, proves it empty and clears the registry's blob cache as the plan
says (actions/registry_clear.py): a restart of its containers that is proven, after a FLUSHDB of
its redis database when it caches there.

Each command runs through the Kubernetes API's pod exec; its outcome comes from the exec status
channel, and a cut stream is `outcome unknown`, never success. The MinIO keys stay inside the
pod: the command reads them from its env file, so regclean never holds them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from actions.errors import ActionError
from actions.kube import KubeClient
from actions.kube_exec import ExecResult, exec_lines, find_pods
from actions.mc import (
    VERSIONED,
    Tally,
    Usage,
    errors_of,
    listing_command,
    parse_du,
    parse_versioning,
    purge_command,
    readable,
    usage_command,
    versioning_command,
)
from actions.pod_ready import is_ready
from actions.registry_cache import CacheClearing
from actions.registry_clear import RegistryPods, SshFor, clear, prepare
from actions.registry_config import RedisAccess

Progress = Callable[[int], Awaitable[None]]
USAGE_TIMEOUT = 300.0
"""Seconds `mc du` may take: it lists the whole bucket, about a thousand objects a request."""


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
    """The registry pods whose containers were proven restarted and are Ready (their new names)."""
    registry_ready: bool
    problem: str | None = None
    versioned: bool = False
    """The bucket was versioned: every version and delete marker was removed, and counted."""
    cache: str | None = None
    """How the registry's blob cache was cleared (the plan's sentence); None before it was."""


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


async def bucket_versioning(kube: KubeClient, minio: MinioTarget, pod: str) -> str:
    """The bucket's versioning as `mc version info` reads it: `Enabled`, `Suspended` or "" (never).

    The purge must know it: on a versioned bucket `mc rm` without `--versions` frees nothing.
    Raises ActionError when it cannot be read.
    """
    lines: list[str] = []

    def keep(channel: int, text: str) -> None:
        if len(lines) < 100:
            lines.append(text)

    done = await _exec(kube, minio, pod, versioning_command(minio), keep, 120)
    status = parse_versioning(lines) if done.exit_code == 0 else None
    if status is None:
        errors = errors_of("\n".join(lines))
        said = " | ".join(errors[-3:]) or (
            " | ".join(readable(line) for line in lines[-3:] if line.strip()) or done.message or "no output"
        )
        raise ActionError(
            f"Cannot tell whether the bucket {minio.bucket} is versioned (`mc version info` in pod {pod}: {said}). "
            "The purge needs to know: a versioned bucket is only emptied with `--versions`."
        )
    return status


async def purge(
    kube: KubeClient,
    minio: MinioTarget,
    registry: RegistryPods,
    pod: str,
    progress: Progress,
    *,
    versioning: str = "",
    clearing: CacheClearing | None = None,
    ssh_for: SshFor | None = None,
) -> PurgeResult:
    """Measure the bucket, empty it, prove it is empty, and clear the registry's blob cache.

    `versioning` is the bucket's state as the approved plan recorded it; on a versioned bucket
    every command takes `--versions`, so versions and delete markers are removed and counted.
    `clearing` is how the plan says the cache is cleared (None: delete the pods, as plans made
    before it was read); what it needs is checked before anything is deleted.
    """
    bucket, versioned = minio.bucket, versioning in VERSIONED
    clearing = clearing or CacheClearing("restart", None, None, None, 0)
    access = await prepare(kube, registry, clearing)
    result = PurgeResult(pod, bucket, None, None, 0, None, None, False, (), False, versioned=versioned)
    before = await bucket_usage(kube, minio, pod, versioned=versioned)
    result = replace(result, bytes_before=_at(before, 0), objects_before=_at(before, 1))
    tally = Tally()
    reporter = asyncio.create_task(_report(tally, progress))
    try:
        command = purge_command(minio, versioned=versioned)
        done = await _exec(kube, minio, pod, command, tally.line, minio.purge_timeout)
    finally:
        reporter.cancel()
    result = replace(result, removed=tally.counted)
    await progress(tally.counted)
    if done.exit_code is None:
        raise PurgeFailed(
            f"Purge failed (outcome unknown): {done.message}. {tally.counted:,} objects were reported removed; "
            "the bucket may be partly emptied. Check it in the MinIO pod with `mc ls`; restoring stays blocked.",
            result,
        )
    if done.exit_code != 0:
        said = " | ".join(tally.errors) or _tail(done)
        raise PurgeFailed(
            f"The purge command exited with status {done.exit_code} after {tally.counted:,} objects: {said}",
            result,
        )
    remaining = await _listing(kube, minio, pod, versioned)
    after = await bucket_usage(kube, minio, pod, versioned=versioned)
    result = replace(result, empty=remaining == 0, bytes_after=_at(after, 0), objects_after=_at(after, 1))
    if remaining:
        what = "versions and delete markers" if versioned else "objects"
        raise PurgeFailed(f"The bucket {bucket} still holds {remaining:,} {what} after the purge.", result)
    try:
        restarted = await restart_registry(kube, registry, clearing, access, ssh_for)
    except ActionError as exc:
        raise PurgeFailed(
            f"The bucket {bucket} is empty, but clearing the registry's blob cache was not confirmed: {exc} "
            "Restoring stays blocked until the registry's containers are restarted and Ready.",
            result,
        ) from None
    cache = clearing.describe() if clearing.storage is not None else None
    return replace(result, restarted=restarted, registry_ready=True, cache=cache)


async def restart_registry(
    kube: KubeClient,
    registry: RegistryPods,
    clearing: CacheClearing | None = None,
    access: RedisAccess | None = None,
    ssh_for: SshFor | None = None,
) -> tuple[str, ...]:
    """Clear the registry's blob cache as `clearing` says (None: delete the pods) and prove that every
    registry container restarted: a new pod UID alone is no proof (actions/registry_restart.py)."""
    clearing = clearing or CacheClearing("restart", None, None, None, 0)
    return await clear(kube, registry, clearing, access, ssh_for)


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


async def bucket_usage(
    kube: KubeClient, minio: MinioTarget, pod: str, *, versioned: bool = False
) -> tuple[int, int] | None:
    """`mc du --json` in the MinIO pod: the bucket's bytes and objects (every version's, when
    versioned); None when it cannot be read (`measure_bucket` says why)."""
    try:
        usage = await measure_bucket(kube, minio, pod, versioned=versioned)
    except ActionError:
        return None
    return usage.bytes, usage.objects


async def measure_bucket(
    kube: KubeClient, minio: MinioTarget, pod: str, *, versioned: bool, seconds: float = USAGE_TIMEOUT
) -> Usage:
    """`mc du --json` (with `--versions` on a versioned bucket) in the MinIO pod; raises ActionError
    with mc's own words (or the exec's) when the bucket cannot be measured."""
    out: list[str] = []

    def keep(channel: int, text: str) -> None:
        if len(out) < 200:  # one usage line, or an indented error of a dozen lines
            out.append(text)

    done = await _exec(kube, minio, pod, usage_command(minio, versioned=versioned), keep, seconds)
    text = "\n".join(out)
    usage = parse_du(text) if done.exit_code == 0 else None
    if usage is not None:
        return usage
    if done.exit_code is None:
        said = f"no answer: {done.message}"
    else:
        errors = errors_of(text)
        said = " | ".join(errors[-3:]) if errors else _tail(done)
        said = f"exit status {done.exit_code}: {said}" if done.exit_code else f"no usage printed: {said}"
    raise ActionError(f"`mc du` of {minio.bucket} in pod {pod} failed ({said}).")


async def _listing(kube: KubeClient, minio: MinioTarget, pod: str, versioned: bool) -> int:
    """How many objects (versions and delete markers too, when versioned) `mc ls --recursive`
    still lists: 0 proves the bucket empty."""
    tally = Tally()
    done = await _exec(kube, minio, pod, listing_command(minio, versioned=versioned), tally.line, 3600)
    if done.exit_code != 0 or tally.errors:
        state = "unknown" if done.exit_code is None else f"status {done.exit_code}"
        said = " | ".join(tally.errors) or _tail(done)
        raise ActionError(f"Listing the bucket after the purge failed ({state}): {said}")
    return tally.counted


def _at(measured: tuple[int, int] | None, index: int) -> int | None:
    return None if measured is None else measured[index]


def _tail(done: ExecResult) -> str:
    errors = errors_of("\n".join(done.tail))  # mc's errors, indented over several lines
    lines = errors[-3:] or [readable(line) for line in done.tail if line.strip()][-5:]
    return " | ".join(lines) or done.message or "no output"


async def _report(tally: Tally, progress: Progress) -> None:
    """Progress in place at most once a second, only when it moved."""
    shown = -1
    while True:
        await asyncio.sleep(1.0)
        if tally.counted != shown:
            shown = tally.counted
            await progress(shown)
