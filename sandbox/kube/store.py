"""The objects the server holds, kept in etcd's key order, with their JSON encoding cached."""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterable, Mapping
from typing import Any

from .defaults import KubeObject, complete
from .resources import ResourceDef, ResourceIndex


def object_key(res: ResourceDef, namespace: str | None, name: str) -> str:
    """The object's key within its resource, ordered as etcd orders `/registry/...` keys."""
    return f"{namespace}/{name}" if res.namespaced else name


class ObjectStore:
    """All served objects, by resource; one global revision counter stands in for etcd's."""

    def __init__(self, index: ResourceIndex) -> None:
        self.index = index
        self.revision = 1
        self._objects: dict[str, dict[str, KubeObject]] = {r.plural: {} for r in index.all}
        self._encoded: dict[str, dict[str, bytes]] = {r.plural: {} for r in index.all}
        self._sorted: dict[str, list[str] | None] = {r.plural: None for r in index.all}
        self._changed_at: dict[str, int] = {r.plural: self.revision for r in index.all}

    def put(self, obj: Mapping[str, Any]) -> KubeObject:
        """Create or replace an object, as the server would store it; returns the stored copy."""
        res = self.index.for_object(obj)
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace", "default") if res.namespaced else None
        if namespace is not None and "namespaces" in self._objects:
            self._ensure_namespace(namespace)
        key = object_key(res, namespace, str(meta.get("name", "")))
        previous = self._objects[res.plural].get(key)
        if previous is not None and "uid" not in meta:
            # An update keeps the object's identity, as it would on a real server.
            kept = {k: previous["metadata"][k] for k in ("uid", "creationTimestamp")}
            obj = {**obj, "metadata": {**meta, **kept}}
        stored = complete(obj, res, self._bump(res))
        self._objects[res.plural][key] = stored
        self._encoded[res.plural].pop(key, None)
        if previous is None:
            self._sorted[res.plural] = None
        return stored

    def put_all(self, objects: Iterable[Mapping[str, Any]]) -> None:
        """Store many objects."""
        for obj in objects:
            self.put(obj)

    def delete(self, res: ResourceDef, namespace: str | None, name: str) -> KubeObject | None:
        """Remove an object; returns it, or None when it did not exist."""
        key = object_key(res, namespace, name)
        gone = self._objects[res.plural].pop(key, None)
        if gone is not None:
            self._encoded[res.plural].pop(key, None)
            self._sorted[res.plural] = None
            self._bump(res)
        return gone

    def get(self, res: ResourceDef, namespace: str | None, name: str) -> KubeObject | None:
        """The stored object (not a copy: callers must not mutate it), or None."""
        return self._objects[res.plural].get(object_key(res, namespace, name))

    def keys(self, res: ResourceDef, namespace: str | None = None) -> list[str]:
        """Sorted keys of a resource, within one namespace when given."""
        keys = self._sorted[res.plural]
        if keys is None:
            keys = self._sorted[res.plural] = sorted(self._objects[res.plural])
        if namespace is None or not res.namespaced:
            return keys
        # "/" + 1 is "0": the half-open range of every key starting with "namespace/".
        lo = bisect.bisect_left(keys, f"{namespace}/")
        hi = bisect.bisect_left(keys, f"{namespace}0", lo)
        return keys[lo:hi]

    def object(self, res: ResourceDef, key: str) -> KubeObject:
        """The object stored under a key from `keys`."""
        return self._objects[res.plural][key]

    def encoded(self, res: ResourceDef, key: str) -> bytes:
        """The object's JSON, encoded once per change: lists of thousands re-use it page after page."""
        cache = self._encoded[res.plural]
        data = cache.get(key)
        if data is None:
            data = cache[key] = json.dumps(
                self._objects[res.plural][key], separators=(",", ":"), ensure_ascii=False
            ).encode()
        return data

    def changed_at(self, res: ResourceDef) -> int:
        """The revision of the last change to any object of this resource."""
        return self._changed_at[res.plural]

    def _bump(self, res: ResourceDef) -> int:
        self.revision += 1
        self._changed_at[res.plural] = self.revision
        return self.revision

    def _ensure_namespace(self, namespace: str) -> None:
        if namespace not in self._objects["namespaces"]:
            self.put({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
