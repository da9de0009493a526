"""Graceful deletion as the API server does it: the grace period asked for, and the pod marked."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from aiohttp import web

from .defaults import KubeObject
from .status import ApiError


async def grace_period(request: web.Request, pod: KubeObject) -> int:
    """The grace period: the query's, else DeleteOptions', else the pod's own (30 s by default)."""
    options: Any = {}
    if request.can_read_body:
        try:
            options = json.loads(await request.read() or b"{}")
        except ValueError as err:
            raise ApiError(400, f"invalid DeleteOptions: {err}") from err
    grace = request.query.get("gracePeriodSeconds")
    if grace is None and isinstance(options, dict):
        grace = options.get("gracePeriodSeconds")
    if grace is None:
        grace = pod.get("spec", {}).get("terminationGracePeriodSeconds", 30)
    try:
        return int(grace)
    except (TypeError, ValueError) as err:
        raise ApiError(400, f"invalid gracePeriodSeconds: {grace!r}") from err


def mark_deleted(pod: KubeObject, grace: int) -> None:
    """Set `deletionTimestamp` (now plus the grace period) and `deletionGracePeriodSeconds`."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=grace)
    pod["metadata"]["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    pod["metadata"]["deletionGracePeriodSeconds"] = grace
