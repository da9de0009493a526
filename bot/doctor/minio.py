"""MinIO: a Ready pod to run `mc` in, exec into it, `mc` and the env file there, the bucket and its
versioning. Every command only reads: the env file is tested (`-r`), never printed."""

from __future__ import annotations

import shlex

from actions.errors import ActionError
from actions.kube import KubeClient
from actions.kube_exec import exec_lines
from actions.minio import MinioTarget, bucket_usage, bucket_versioning, minio_pod
from bot.doctor.model import Check, fail, ok

AREA = "minio"

#: args: ENV_FILE — prints `ENV readable|unreadable` and `MC present|missing`
PROBE = r"""
if [ -r "$1" ]; then echo "ENV readable"; else echo "ENV unreadable"; fi
if command -v mc >/dev/null 2>&1; then echo "MC present"; else echo "MC missing"; fi
"""


async def minio_checks(kube: KubeClient, minio: MinioTarget) -> list[Check]:
    """The pod, exec, `mc`, the env file, the bucket and its versioning, stopping at the first that blocks the rest."""
    try:
        pod = await minio_pod(kube, minio)
    except ActionError as exc:
        return [
            fail(
                AREA,
                "ready pod",
                str(exc),
                "Wait for a MinIO pod to be Ready, or fix REGCLEAN_MINIO_SELECTOR.",
            )
        ]
    name = str(pod["metadata"]["name"])
    checks = [ok(AREA, "ready pod", f"{minio.namespace}/{name}")]
    lines: list[str] = []

    def keep(channel: int, text: str) -> None:
        if channel == 1 and len(lines) < 10:
            lines.append(text.strip())

    try:
        done = await exec_lines(
            kube,
            minio.namespace,
            name,
            ["sh", "-c", PROBE, "sh", minio.env_file],
            keep,
            container=minio.container,
            timeout=60,
        )
    except ActionError as exc:
        checks.append(fail(AREA, "exec", str(exc), "Grant pods/exec in the MinIO namespace (deploy/)."))
        return checks
    if done.exit_code != 0:
        checks.append(
            fail(AREA, "exec", f"`sh` in {name} ended with {done.message}", "Check REGCLEAN_MINIO_CONTAINER.")
        )
        return checks
    checks.append(ok(AREA, "exec", f"a shell runs in {name}"))
    checks.append(
        ok(AREA, "mc", "on the pod's PATH")
        if "MC present" in lines
        else fail(
            AREA,
            "mc",
            f"`mc` is not on the PATH of {name}",
            "The purge runs `mc` in this pod: use MinIO's image with mc.",
        )
    )
    checks.append(
        ok(AREA, "env file", f"{minio.env_file} is readable (not shown)")
        if "ENV readable" in lines
        else fail(
            AREA,
            "env file",
            f"{minio.env_file} cannot be read in {name}",
            "Set REGCLEAN_MINIO_ENV_FILE to the file holding MINIO_ACCESS_KEY and MINIO_SECRET_KEY.",
        )
    )
    if "MC present" not in lines or "ENV readable" not in lines:
        return checks
    return checks + await _bucket(kube, minio, name)


async def _bucket(kube: KubeClient, minio: MinioTarget, pod: str) -> list[Check]:
    try:
        versioning = await bucket_versioning(kube, minio, pod)
    except ActionError as exc:
        return [
            fail(
                AREA,
                "bucket",
                str(exc),
                f"Check REGCLEAN_MINIO_BUCKET ({shlex.quote(minio.bucket)}) and REGCLEAN_MINIO_URL.",
            )
        ]
    usage = await bucket_usage(kube, minio, pod, versioned=versioning in ("Enabled", "Suspended"))
    if usage is None:
        return [
            fail(
                AREA,
                "bucket",
                f"`mc du` of {minio.bucket} failed",
                "Check REGCLEAN_MINIO_BUCKET and REGCLEAN_MINIO_URL.",
            )
        ]
    size, objects = usage
    return [
        ok(AREA, "bucket", f"{minio.bucket}: {objects:,} objects, {size:,} bytes"),
        ok(AREA, "versioning", versioning or "never versioned"),
    ]
