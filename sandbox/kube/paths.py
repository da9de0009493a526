"""Parse resource URLs the way the apiserver's RequestInfoFactory does."""

from __future__ import annotations

from dataclasses import dataclass

# `/api/v1/namespaces/NAME/status` is the namespace's own subresource, not a resource named "status".
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


@dataclass(frozen=True)
class ResourcePath:
    """What a request under `/api/VERSION` or `/apis/GROUP/VERSION` addresses."""

    group: str
    version: str
    plural: str | None = None
    """None for the group/version's own discovery document."""
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def parse_resource_path(path: str) -> ResourcePath | None:
    """The ResourcePath for a URL path, or None when it is not a resource URL at all."""
    segs = [s for s in path.strip("/").split("/")]
    if segs[:1] == ["api"] and len(segs) >= 2:
        group, version, rest = "", segs[1], segs[2:]
    elif segs[:1] == ["apis"] and len(segs) >= 3:
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    if any(not s for s in rest):
        return None
    if not rest:
        return ResourcePath(group, version)
    namespace = None
    if rest[0] == "namespaces" and len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        return None
    return ResourcePath(
        group,
        version,
        plural=rest[0],
        namespace=namespace,
        name=rest[1] if len(rest) > 1 else None,
        subresource=rest[2] if len(rest) > 2 else None,
    )
