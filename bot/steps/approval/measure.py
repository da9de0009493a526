"""What the purge would delete, measured when the request is made (docs/architecture.md, "The
approval request").

The measure is shown to the approvers but kept out of the plan's fingerprint: the bucket changes
whenever the registry is pushed to, so a fingerprinted size would void every approval given while
the platform is in use, and the purge deletes whatever the bucket holds when it runs (the purge
measures again, before and after). The plan fingerprints what decides what is deleted (bucket,
pod, versioning, command); the measure says how much that was, and when.
"""

from __future__ import annotations

import logging

from actions.minio import measure_bucket
from bot.config.targets import minio_target
from bot.core.errors import RegcleanError
from bot.steps.approval.model import BucketMeasure
from bot.steps.approval.plan import Plan
from bot.steps.context import StepContext

log = logging.getLogger(__name__)

MEASURE_TIMEOUT = 120.0
"""Seconds `mc du` may take before the request goes out without its size."""


async def measure(ctx: StepContext, plan: Plan, seconds: float = MEASURE_TIMEOUT) -> BucketMeasure:
    """`mc du` of the plan's bucket in the plan's MinIO pod, as the purge would count it (every
    version on a versioned bucket); a failure is a measure with its `problem`, never an exception."""
    at = ctx.clock.now()
    pod = plan.minio.pod
    if pod is None:
        return BucketMeasure(at, problem="the plan names no MinIO pod to run `mc du` in")
    try:
        with ctx.kube_client() as kube:
            usage = await measure_bucket(
                kube, minio_target(ctx.settings), pod, versioned=plan.minio.versioned, seconds=seconds
            )
    except RegcleanError as exc:
        return BucketMeasure(at, problem=str(exc))
    except Exception:  # the request must still go out; the traceback goes to the log only
        log.exception("measuring the bucket %s failed", plan.bucket)
        return BucketMeasure(at, problem="an unexpected error (regclean's log has the details)")
    return BucketMeasure(at, usage.objects, usage.bytes, usage.versions)
