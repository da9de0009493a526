"""List responses: chunking with `limit`/`continue`, selectors, and the JSON envelope."""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Mapping

from .resources import ResourceDef
from .selectors import Predicate, field_predicate, label_predicate
from .status import ApiError
from .store import ObjectStore

_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start "
    "a new list without the continue parameter, or use the continue token in this response to "
    "retrieve the remainder of the results. Continuing with the provided token results in an "
    "inconsistent list - objects that were created, modified, or deleted between the time the first "
    "chunk was returned and now may show up in the list."
)


def encode_continue(revision: int, start: str) -> str:
    """The apiserver's token: unpadded URL-safe base64 of `{"v","rv","start"}`."""
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": revision, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    """The (revision, start key) in a token; a malformed one is a 400, as on a real server."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data.get("v") != "meta.k8s.io/v1":
            raise ValueError("continue key is not valid: incorrect encoded start resourceVersion")
        revision, start = data["rv"], data["start"]
        if not isinstance(revision, int) or not isinstance(start, str) or revision <= 0 or not start:
            raise ValueError("continue key is not valid: invalid start or resourceVersion")
    except (binascii.Error, ValueError, KeyError, AttributeError, TypeError) as err:
        raise ApiError(400, f"invalid continue token: {err}") from err
    return revision, start


def list_page(store: ObjectStore, res: ResourceDef, namespace: str | None, query: Mapping[str, str]) -> bytes:
    """One page of a list request, encoded; raises ApiError for bad parameters or stale tokens."""
    try:
        limit = int(query.get("limit") or 0)
    except ValueError as err:
        raise ApiError(400, f"invalid limit: {query.get('limit')!r}") from err
    predicates: list[Predicate] = []
    if query.get("labelSelector"):
        predicates.append(label_predicate(query["labelSelector"]))
    if query.get("fieldSelector"):
        predicates.append(field_predicate(query["fieldSelector"], res.kind))

    keys = store.keys(res, namespace)
    revision, start = store.revision, 0
    token = query.get("continue")
    if token:
        revision, start_key = decode_continue(token)
        if query.get("resourceVersion", "0") != "0":
            raise ApiError(400, "specifying resource version is not allowed when using continue")
        if not store.changed_at(res) <= revision <= store.revision:
            # The snapshot the token was cut from is gone: etcd has compacted it, so to speak.
            fresh = encode_continue(store.revision, start_key)
            raise ApiError(410, _EXPIRED, metadata={"continue": fresh})
        start = bisect.bisect_left(keys, start_key)

    chosen: list[str] = []
    i = start
    while i < len(keys) and (limit <= 0 or len(chosen) < limit):
        key = keys[i]
        if all(p(store.object(res, key)) for p in predicates):
            chosen.append(key)
        i += 1

    meta: dict[str, object] = {"resourceVersion": str(revision)}
    if limit > 0 and i < len(keys) and chosen:
        meta["continue"] = encode_continue(revision, chosen[-1] + "\x00")
        if not predicates:
            meta["remainingItemCount"] = len(keys) - i
    head = {"kind": f"{res.kind}List", "apiVersion": res.group_version, "metadata": meta}
    prefix = json.dumps(head, separators=(",", ":"))[:-1].encode() + b',"items":['
    return prefix + b",".join(store.encoded(res, k) for k in chosen) + b"]}"
