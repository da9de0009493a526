"""Kubernetes `Status` failures, the body every error response of a real API server carries."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aiohttp import web

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    410: "Expired",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """A failure the server answers with a Status body; raised anywhere below the handlers."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        details: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.details = details
        self.metadata = metadata or {}
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """The Status object, shaped exactly like the API server's."""
        status: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": self.metadata,
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
        }
        if self.details is not None:
            status["details"] = self.details
        status["code"] = self.code
        return status

    def response(self) -> web.Response:
        """The HTTP response carrying this Status."""
        return web.Response(
            status=self.code,
            body=json.dumps(self.body()).encode(),
            content_type="application/json",
            headers=self.headers,
        )


def not_found(plural: str, name: str, group: str = "") -> ApiError:
    """The 404 for a named object that does not exist."""
    details: dict[str, Any] = {"name": name, "kind": plural}
    if group:
        details["group"] = group
    what = f"{plural}.{group}" if group else plural
    return ApiError(404, f'{what} "{name}" not found', details=details)


def no_such_resource() -> ApiError:
    """The 404 for a path that names no served resource."""
    return ApiError(404, "the server could not find the requested resource", details={})
