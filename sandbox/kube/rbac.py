"""Authentication and RBAC for the sandbox API server, from the manifests regclean deploys with.

A STAND-IN for the API server's bearer-token authenticator and its RBAC authorizer. The rules come
from the rendered `deploy/` manifests (`kubectl kustomize deploy/overlays/socket-mode`): the
ClusterRoles, Roles and their bindings to regclean's ServiceAccount. A request without the
ServiceAccount's token answers 401; one the rules do not allow answers 403 with the API server's
message (`User "system:serviceaccount:NS:NAME" cannot VERB resource "RES" in API group "G" in the
namespace "NS"`). Request attributes are derived from the URL as the API server's
RequestInfoFactory derives them; exec (a WebSocket GET) needs `get` and, as on recent servers,
`create` on `pods/exec`.

Every authenticated user also has what Kubernetes' default roles give everyone: discovery and
version (system:discovery, system:public-info-viewer) and self reviews (system:basic-user). Those
are not counted as regclean's rules; `used` records which of regclean's rules allowed a request, so
a test can show that every rule is needed.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .paths import parse_resource_path
from .status import ApiError

PROJECT = Path(__file__).resolve().parents[2]
KUBECTL = PROJECT / ".cache" / "kubectl" / "usr" / "bin" / "kubectl"
"""kubectl 1.20, unpacked by `make setup`: its kustomize renders deploy/."""
_DEFAULT_URLS = (
    "/version",
    "/version/",
    "/healthz",
    "/readyz",
    "/livez",
    "/api",
    "/api/*",
    "/apis",
    "/apis/*",
)
_SELF_REVIEWS = frozenset({"selfsubjectaccessreviews", "selfsubjectrulesreviews"})
_VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


@dataclass(frozen=True)
class Rule:
    """One PolicyRule, with where it applies (None: cluster-wide) and where it came from."""

    source: str
    """`ClusterRole/NAME` or `Role/NAMESPACE/NAME`, and the rule's index in it."""
    namespace: str | None
    verbs: tuple[str, ...]
    api_groups: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    resource_names: tuple[str, ...] = ()
    non_resource_urls: tuple[str, ...] = ()

    def grants(self) -> set[tuple[str, str, str]]:
        """Every (rule, verb, resource or URL pattern) this rule grants."""
        what = self.non_resource_urls or self.resources
        return {(self.source, verb, w) for verb in self.verbs for w in what}

    def grant_for(self, attrs: Attributes) -> str:
        """The resource or URL pattern of this rule that matched `attrs`."""
        if attrs.non_resource_url is not None:
            return next(p for p in self.non_resource_urls if _url_matches(p, attrs.non_resource_url))
        resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
        return resource if resource in self.resources else "*"

    def allows(self, attrs: Attributes) -> bool:
        if not _any(self.verbs, attrs.verb):
            return False
        if attrs.non_resource_url is not None:
            return any(_url_matches(p, attrs.non_resource_url) for p in self.non_resource_urls)
        if self.namespace is not None and attrs.namespace != self.namespace:
            return False
        resource = attrs.resource + (f"/{attrs.subresource}" if attrs.subresource else "")
        return (
            _any(self.api_groups, attrs.api_group)
            and _any(self.resources, resource)
            and (not self.resource_names or (attrs.name or "") in self.resource_names)
        )


@dataclass(frozen=True)
class Attributes:
    """What a request asks to do, as the authorizer sees it."""

    verb: str
    api_group: str = ""
    resource: str = ""
    subresource: str | None = None
    namespace: str | None = None
    name: str | None = None
    non_resource_url: str | None = None

    def denial(self, user: str) -> str:
        """The API server's forbidden message."""
        if self.non_resource_url is not None:
            return f'User "{user}" cannot {self.verb} path "{self.non_resource_url}"'
        resource = self.resource + (f"/{self.subresource}" if self.subresource else "")
        where = f' in the namespace "{self.namespace}"' if self.namespace else " at the cluster scope"
        return (
            f'User "{user}" cannot {self.verb} resource "{resource}" in API group "{self.api_group}"{where}'
        )


@dataclass
class Policy:
    """The rules bound to one ServiceAccount, and its token."""

    namespace: str
    name: str
    token: str
    rules: tuple[Rule, ...]
    used: set[tuple[str, str, str]] = field(default_factory=set)
    """(rule, verb, resource or URL pattern) of regclean's rules that allowed at least one request."""

    @property
    def user(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.name}"

    def unused(self) -> set[tuple[str, str, str]]:
        """What regclean's rules grant that no request needed so far."""
        return {g for rule in self.rules for g in rule.grants()} - self.used

    def without(self, predicate: Any) -> Policy:
        """The same policy without the rules `predicate(rule)` picks (to show a rule is needed)."""
        return Policy(self.namespace, self.name, self.token, tuple(r for r in self.rules if not predicate(r)))

    def check(self, method: str, path: str, query: Mapping[str, str], authorization: str | None) -> None:
        """Raise the API server's 401 or 403 unless the request is authenticated and allowed."""
        if authorization != f"Bearer {self.token}":
            raise ApiError(401, "Unauthorized", reason="Unauthorized")
        for attrs in attributes(method, path, query):
            if not self.allowed(attrs):
                raise ApiError(403, attrs.denial(self.user), reason="Forbidden")

    def allowed(self, attrs: Attributes) -> bool:
        """Whether regclean's rules or the defaults every authenticated user has allow it."""
        # Every rule that allows it counts as used: two Roles may grant the same in one namespace
        # (the MinIO and registry namespaces are often both kube-system).
        matching = [r for r in self.rules if r.allows(attrs)]
        self.used.update((r.source, attrs.verb, r.grant_for(attrs)) for r in matching)
        if matching:
            return True
        if attrs.non_resource_url is not None:
            return attrs.verb == "get" and any(_url_matches(p, attrs.non_resource_url) for p in _DEFAULT_URLS)
        return (
            attrs.verb == "create"
            and attrs.api_group == "authorization.k8s.io"
            and attrs.resource in _SELF_REVIEWS
        )


def attributes(method: str, path: str, query: Mapping[str, str]) -> list[Attributes]:
    """The request's attributes (two for exec: `get` and `create` on `pods/exec`)."""
    where = parse_resource_path(path.rstrip("/") or "/")
    verb = _VERBS.get(method.upper(), method.lower())
    if where is None or where.plural is None:
        return [Attributes(verb, non_resource_url=path)]
    if verb == "get" and where.name is None:
        verb = "watch" if query.get("watch") in ("1", "true") else "list"
    attrs = Attributes(verb, where.group, where.plural, where.subresource, where.namespace, where.name)
    if where.subresource in ("exec", "attach", "portforward") and verb == "get":
        return [
            attrs,
            Attributes("create", where.group, where.plural, where.subresource, where.namespace, where.name),
        ]
    return [attrs]


def policy_from(
    docs: Iterable[Mapping[str, Any]], token: str, *, service_account: str = "regclean"
) -> Policy:
    """The rules that `docs` (rendered manifests) bind to their ServiceAccount `service_account`."""
    docs = [d for d in docs if isinstance(d, Mapping)]
    account = next(
        d for d in docs if d.get("kind") == "ServiceAccount" and d["metadata"]["name"] == service_account
    )
    namespace = account["metadata"]["namespace"]
    roles = {
        (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d.get("rules") or []
        for d in docs
        if d.get("kind") in ("ClusterRole", "Role")
    }
    rules: list[Rule] = []
    for binding in (d for d in docs if d.get("kind") in ("ClusterRoleBinding", "RoleBinding")):
        subjects = binding.get("subjects") or []
        if not any(s.get("kind") == "ServiceAccount" and s.get("name") == service_account
                   and s.get("namespace") == namespace for s in subjects):  # fmt: skip
            continue
        bound_ns = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        ref = binding["roleRef"]
        role_ns = bound_ns if ref["kind"] == "Role" else None
        for i, rule in enumerate(roles.get((ref["kind"], role_ns, ref["name"]), [])):
            rules.append(
                Rule(
                    f"{ref['kind']}/{ref['name']}#{i}" + (f" in {bound_ns}" if bound_ns else ""),
                    bound_ns,
                    tuple(rule.get("verbs") or ()),
                    tuple(rule.get("apiGroups") or ()),
                    tuple(rule.get("resources") or ()),
                    tuple(rule.get("resourceNames") or ()),
                    tuple(rule.get("nonResourceURLs") or ()),
                )
            )
    return Policy(namespace, service_account, token, tuple(rules))


@cache
def rendered_deploy(overlay: str = "socket-mode") -> tuple[Mapping[str, Any], ...]:
    """`kubectl kustomize deploy/overlays/OVERLAY`, parsed (once per process)."""
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(PROJECT / "deploy" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kubectl kustomize deploy/overlays/{overlay} failed: {done.stderr.strip()}")
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def _any(allowed: tuple[str, ...], value: str) -> bool:
    return "*" in allowed or value in allowed


def _url_matches(pattern: str, url: str) -> bool:
    # RBAC's nonResourceURLs: exact, or a prefix ending in `*`.
    return pattern == "*" or (pattern.endswith("*") and url.startswith(pattern[:-1])) or pattern == url
