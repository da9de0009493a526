"""Answers of a real API server under strain: an aggregated API that is down, and throttling.

Modelled on the Kubernetes sources:

- kube-aggregator (`handler_proxy.go`) answers every request for an APIService that is not
  Available with `proxyError(w, req, "service unavailable", 503)`, i.e. Go's `http.Error`: a
  plain-text body, no Status. `/apis` still lists the group, so discovery clients meet the 503 on
  `/apis/GROUP/VERSION`; client-go turns it into "the server is currently unable to handle the
  request" and kubectl warns "couldn't get resource list for GROUP/VERSION: …".
- API Priority and Fairness (`filters/priority-and-fairness.go`, `tooManyRequests`) rejects with
  429, `Retry-After: N` and the text "Too many requests, please try again later.", plus the
  `X-Kubernetes-PF-*` headers naming the flow schema and priority level.

Both can also answer with a `Status` object (`status=True`), as other paths of the API server do
(`apierrors.NewTooManyRequests`, `NewServiceUnavailable`), so that a client is checked on both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from aiohttp import web

from .resources import version_priority
from .status import ApiError

METRICS_API = "metrics.k8s.io/v1beta1"
"""metrics-server's aggregated API: with metrics-server down, the usual 503 of a real cluster."""
UNAVAILABLE_TEXT = "service unavailable"
UNAVAILABLE_MESSAGE = "the server is currently unable to handle the request"
THROTTLED_TEXT = "Too many requests, please try again later."
_FLOW_SCHEMA = "service-accounts"
_PRIORITY_LEVEL = "workload-low"


class Answer(Protocol):
    """Something the server can answer with instead of serving the request."""

    def response(self) -> web.Response: ...


@dataclass(frozen=True)
class PlainError:
    """Go's `http.Error`: the text and a newline, `text/plain; charset=utf-8`, nosniff."""

    code: int
    text: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def response(self) -> web.Response:
        """The HTTP response."""
        headers = {"X-Content-Type-Options": "nosniff", **self.headers}
        return web.Response(
            status=self.code,
            text=self.text + "\n",
            content_type="text/plain",
            charset="utf-8",
            headers=headers,
        )


def unavailable(*, status: bool = False) -> Answer:
    """The aggregator's answer for an APIService that is not Available."""
    if status:
        return ApiError(503, UNAVAILABLE_MESSAGE, reason="ServiceUnavailable")
    return PlainError(503, UNAVAILABLE_TEXT)


def throttled(retry_after: int, *, status: bool = False) -> Answer:
    """API Priority and Fairness rejecting a request: 429 with `Retry-After` (seconds)."""
    headers = {
        "Retry-After": str(retry_after),
        "X-Kubernetes-PF-FlowSchema-UID": _uid(_FLOW_SCHEMA),
        "X-Kubernetes-PF-PriorityLevel-UID": _uid(_PRIORITY_LEVEL),
    }
    if status:
        details = {"retryAfterSeconds": retry_after}
        return ApiError(429, THROTTLED_TEXT, reason="TooManyRequests", details=details, headers=headers)
    return PlainError(429, THROTTLED_TEXT, headers)


def covers(group_version: str, path: str) -> bool:
    """Whether a request path is under `/apis/GROUP/VERSION`, the APIService's share of the URL space."""
    base = f"/apis/{group_version}"
    return path == base or path.startswith(base + "/")


def with_group_versions(doc: dict[str, Any], extra: Iterable[str]) -> dict[str, Any]:
    """An `/apis` APIGroupList with more group/versions listed (the aggregator lists every APIService)."""
    groups: list[dict[str, Any]] = [dict(g) for g in doc.get("groups", [])]
    for group_version in extra:
        name, _, version = group_version.rpartition("/")
        entry = next((g for g in groups if g["name"] == name), None)
        if entry is None:
            entry = {"name": name, "versions": []}
            groups.append(entry)
        versions = [v for v in entry["versions"] if v["version"] != version]
        versions.append({"groupVersion": group_version, "version": version})
        versions.sort(key=lambda v: version_priority(v["version"]), reverse=True)
        entry["versions"] = versions
        entry["preferredVersion"] = versions[0]
    return {**doc, "groups": groups}


def _uid(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox://flowcontrol/{name}"))
