"""SelfSubjectAccessReview for the sandbox API server: "may I?" answered without doing it.

A STAND-IN for the API server's `POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews`
(kubectl auth can-i). The request carries `spec.resourceAttributes` (verb, group, resource,
subresource, namespace, name) or `spec.nonResourceAttributes` (path, verb); the answer is the same
object with `status.allowed`, and `status.denied` and `status.reason` when refused, as the
authorizers report. A review that is not a SelfSubjectAccessReview, or names neither kind of
attribute, is refused with 400 as the API server's validation does.

The decision lives in one function, `decide()`: everything is allowed unless a test switched it
off with `Access.deny(verb, resource, namespace)`; when the server enforces RBAC (`server.policy`,
rules from deploy/), that policy decides the rest. Replace `decide` to change the rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .rbac import Attributes
from .status import ApiError

if TYPE_CHECKING:
    from .server import KubeApiServer

PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


@dataclass(frozen=True)
class Asked:
    """What one review asks: a verb on a resource (with its subresource) in a namespace ("" for all)."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str | None = None
    """A non-resource URL, for `nonResourceAttributes`."""


@dataclass
class Access:
    """The review endpoint's switches and what it was asked."""

    denied: set[tuple[str, str, str]] = field(default_factory=set)
    """(verb, resource[/subresource], namespace) refused; namespace "*" refuses it everywhere."""
    asked: list[Asked] = field(default_factory=list)

    def deny(self, verb: str, resource: str, namespace: str = "*") -> None:
        """Fault switch: reviews of `verb` on `resource` (e.g. `pods`, `pods/exec`) in `namespace` say no."""
        self.denied.add((verb, resource, namespace))

    def allow_all(self) -> None:
        """Clear every deny switch."""
        self.denied.clear()


@dataclass(frozen=True)
class Decision:
    """An authorizer's answer: `denied` is an explicit no (RBAC never says it: it only fails to allow)."""

    allowed: bool
    denied: bool = False
    reason: str = ""


def decide(server: KubeApiServer, access: Access, asked: Asked) -> Decision:
    """Whether the asker may do it, and the authorizer's reason: the one place the rule is decided."""
    resource = asked.resource + (f"/{asked.subresource}" if asked.subresource else "")
    for verb, denied, namespace in access.denied:
        if verb in (asked.verb, "*") and denied == resource and namespace in (asked.namespace, "*"):
            where = f"namespace {asked.namespace}" if asked.namespace else "every namespace"
            return Decision(False, True, f"sandbox: {asked.verb} on {resource} is denied in {where}")
    policy = getattr(server, "policy", None)
    if policy is None or asked.path is not None:
        return Decision(True)
    attrs = Attributes(
        asked.verb,
        asked.group,
        asked.resource,
        asked.subresource or None,
        asked.namespace or None,
        asked.name or None,
    )
    if policy.allowed(attrs):
        return Decision(True, reason="RBAC: allowed by a rule bound to the ServiceAccount")
    return Decision(False)


def review_handler(server: KubeApiServer, access: Access) -> Any:
    """The aiohttp handler for `POST PATH`."""

    async def review(request: web.Request) -> web.StreamResponse:
        try:
            body = json.loads(await request.read() or b"{}")
        except ValueError:
            return ApiError(400, "the body is not JSON", reason="BadRequest").response()
        if not isinstance(body, dict) or body.get("kind") != "SelfSubjectAccessReview":
            return ApiError(400, "the body is not a SelfSubjectAccessReview", reason="BadRequest").response()
        asked = _asked(body.get("spec") or {})
        if asked is None:
            return ApiError(
                422,
                "SelfSubjectAccessReview.authorization.k8s.io is invalid: spec.resourceAttributes: "
                "Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
                reason="Invalid",
            ).response()
        access.asked.append(asked)
        decision = decide(server, access, asked)
        status: dict[str, Any] = {"allowed": decision.allowed}
        if decision.denied:
            status["denied"] = True
        if decision.reason:
            status["reason"] = decision.reason
        answer = {**body, "apiVersion": "authorization.k8s.io/v1", "metadata": {}, "status": status}
        return web.json_response(answer, status=201)

    return review


def _asked(spec: dict[str, Any]) -> Asked | None:
    res, non = spec.get("resourceAttributes") or {}, spec.get("nonResourceAttributes") or {}
    if bool(res) == bool(non) or not isinstance(res, dict) or not isinstance(non, dict):
        return None
    if non:
        return Asked(str(non.get("verb") or ""), path=str(non.get("path") or ""))
    return Asked(
        str(res.get("verb") or ""),
        str(res.get("group") or ""),
        str(res.get("resource") or ""),
        str(res.get("subresource") or ""),
        str(res.get("namespace") or ""),
        str(res.get("name") or ""),
    )
