"""API discovery as kubectl does it: every group searched, a failing group skipped and named.

A real cluster often has an API group that does not answer: an aggregated API whose backend is
down (`metrics.k8s.io/v1beta1` answering 503), or a stale group left behind by an upgrade. kubectl
warns "couldn't get resource list for metrics.k8s.io/v1beta1: …" and carries on with the rest
(client-go's `ErrGroupDiscoveryFailed`). So does this: only when a wanted resource is found in no
group that answered, and some group did not answer, is that group's failure the error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from actions.errors import ActionError, ApiError, ApiNotFound, ResourceNotServed
from actions.kube_retry import ApiStatusError

log = logging.getLogger(__name__)

JsonObject = dict[str, Any]
Get = Callable[[str], Awaitable[JsonObject]]


@dataclass(frozen=True)
class ApiResource:
    """A resource as API discovery describes it."""

    group: str
    """API group; empty for the core group."""
    version: str
    """The version the server prefers for this group."""
    plural: str
    """The name used in URLs, e.g. `operatorviews`."""
    kind: str
    """The object kind, e.g. `OperatorView`."""
    namespaced: bool
    """Whether objects live in namespaces."""

    @property
    def group_version(self) -> str:
        """`group/version`, or just `version` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str | None = None) -> str:
        """The URL path of the collection, across all namespaces when `namespace` is None."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace and self.namespaced:
            return f"{base}/namespaces/{namespace}/{self.plural}"
        return f"{base}/{self.plural}"


@dataclass(frozen=True)
class GroupFailure:
    """A group/version whose resource list could not be read."""

    group_version: str
    problem: str
    """What it answered, e.g. `503 Service Unavailable: the server is currently unable to handle the request`."""

    def describe(self) -> str:
        """`app.alauda.io/v1alpha2 answered 503 Service Unavailable: …`."""
        return f"{self.group_version} answered {self.problem}"


@dataclass(frozen=True)
class Discovery:
    """The resources found, and the group/versions skipped because they did not answer."""

    resources: Mapping[str, ApiResource]
    skipped: tuple[GroupFailure, ...] = field(default=())

    def __getitem__(self, plural: str) -> ApiResource:
        return self.resources[plural]


class GroupUnavailable(ApiError):
    """A group/version that may serve a resource we need did not answer discovery."""

    what = "API group unavailable"


async def discover(get: Get, server: str, plurals: Iterable[str]) -> Discovery:
    """Find resources by plural name in every group (preferred version first), as kubectl does.

    `/apis` itself must answer; a group/version that does not is logged and skipped. Raises
    `GroupUnavailable` naming the failed group/versions when a wanted plural is found nowhere
    else, and `ResourceNotServed` when every group answered and none serves it.
    """
    wanted = set(plurals)
    candidates = ["/api/v1", *_group_paths((await get("/apis")).get("groups") or [])]
    lists = await asyncio.gather(*(_resource_list(get, path) for path in candidates))
    found: dict[str, ApiResource] = {}
    failed: list[GroupFailure] = []
    for path, listed in zip(candidates, lists, strict=True):
        group_version = path.removeprefix("/apis/").removeprefix("/api/")
        if isinstance(listed, GroupFailure):
            log.warning("couldn't get resource list for %s: %s", group_version, listed.problem)
            failed.append(listed)
            continue
        group, _, version = group_version.rpartition("/")
        for res in listed:
            name = str(res.get("name", ""))
            if name in wanted and name not in found:
                found[name] = ApiResource(
                    group, version, name, str(res.get("kind", "")), bool(res.get("namespaced"))
                )
    missing = sorted(wanted - found.keys())
    if missing and failed:
        raise GroupUnavailable(_unavailable(missing, failed, {r.group for r in found.values()}))
    if missing:
        raise ResourceNotServed(
            f"The API server at {server} serves no resource named {', '.join(missing)} "
            f"(searched {len(candidates)} API group versions). Is KUBECONFIG pointing at the "
            "global cluster of an ACP installation?"
        )
    return Discovery(found, tuple(failed))


def _group_paths(groups: list[Mapping[str, Any]]) -> list[str]:
    paths: list[str] = []
    for group in groups:
        preferred = (group.get("preferredVersion") or {}).get("groupVersion")
        versions = [v.get("groupVersion") for v in group.get("versions") or []]
        ordered = [preferred, *[v for v in versions if v != preferred]] if preferred else versions
        paths.extend(f"/apis/{gv}" for gv in ordered if gv)
    return paths


async def _resource_list(get: Get, path: str) -> list[Mapping[str, Any]] | GroupFailure:
    group_version = path.removeprefix("/apis/").removeprefix("/api/")
    try:
        body = await get(path)
    except ApiNotFound:
        # A group listed by /apis but gone a moment later (an aggregated API being removed).
        return []
    except ApiStatusError as exc:
        return GroupFailure(group_version, f"{exc.status_text}: {exc.detail}")
    except ActionError as exc:
        return GroupFailure(group_version, str(exc))
    return [r for r in body.get("resources") or [] if "/" not in str(r.get("name", ""))]


def _unavailable(missing: list[str], failed: list[GroupFailure], found_groups: set[str]) -> str:
    """Name the failed group/versions; those of a group that serves another wanted kind first."""
    suspects = [f for f in failed if f.group_version.rpartition("/")[0] in found_groups] or failed
    others = [f for f in failed if f not in suspects]
    it = "it" if len(missing) == 1 else "them"
    message = (
        f"{'; '.join(f.describe() for f in suspects)}. {', '.join(missing)} cannot be listed: no API "
        f"group that answered serves {it}. Ask the platform team to bring that API back (`kubectl get "
        "apiservices` shows which are not Available), then run the step again."
    )
    if others:
        message += f" Also not answering: {', '.join(f.group_version for f in others)}."
    return message
