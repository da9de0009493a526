"""Label and field selectors, parsed with the grammar and semantics of `k8s.io/apimachinery`."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .status import ApiError

Predicate = Callable[[Mapping[str, Any]], bool]

_OPS = frozenset({"=", "==", "!=", "(", ")", ",", "!"})
_TOKEN = re.compile(r"\s*(?:(?P<op>==|!=|=|\(|\)|,|!)|(?P<word>[^\s!=(),]+))")


@dataclass(frozen=True)
class Requirement:
    """One comma-separated term of a label selector."""

    key: str
    op: str
    """One of `exists`, `!exists`, `=`, `!=`, `in`, `notin`."""
    values: frozenset[str] = frozenset()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label map satisfies this term; `!=` and `notin` also match a missing label."""
        present = self.key in labels
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            if text[pos:].strip():
                raise _invalid(text, f"unexpected character at {pos}")
            break
        out.append(m.group("op") or m.group("word"))
        pos = m.end()
    return out


def parse_label_selector(text: str) -> list[Requirement]:
    """Parse `a=b,c!=d,e,!f,g in (h,i),j notin (k)`; raises a 400 ApiError when malformed."""
    toks = _tokens(text)
    reqs: list[Requirement] = []
    i = 0

    def take() -> str:
        nonlocal i
        if i >= len(toks):
            raise _invalid(text, "unexpected end")
        i += 1
        return toks[i - 1]

    while i < len(toks):
        if toks[i] == "!":
            i += 1
            reqs.append(Requirement(_key(take(), text), "!exists"))
        else:
            key = _key(take(), text)
            nxt = toks[i] if i < len(toks) else ","
            if nxt == ",":
                reqs.append(Requirement(key, "exists"))
            elif nxt in ("=", "==", "!="):
                i += 1
                value = toks[i] if i < len(toks) and toks[i] not in _OPS else ""
                i += 1 if value else 0
                reqs.append(Requirement(key, "!=" if nxt == "!=" else "=", frozenset({value})))
            elif nxt in ("in", "notin"):
                i += 1
                reqs.append(Requirement(key, nxt, _value_set(take, text)))
            else:
                raise _invalid(text, f"found '{nxt}', expected: '=', '!=', '==', 'in', notin'")
        if i < len(toks):
            if toks[i] != ",":
                raise _invalid(text, f"found '{toks[i]}', expected: ',' or 'end of string'")
            i += 1
            if i == len(toks):
                raise _invalid(text, "found '', expected: identifier after ','")
    return reqs


def _value_set(take: Callable[[], str], text: str) -> frozenset[str]:
    if take() != "(":
        raise _invalid(text, "found '', expected: '('")
    values: set[str] = set()
    expect_value = True
    while True:
        tok = take()
        if tok == ")":
            break
        if tok == ",":
            if expect_value:
                values.add("")
            expect_value = True
            continue
        if not expect_value:
            raise _invalid(text, f"found '{tok}', expected: ',' or ')'")
        values.add(tok)
        expect_value = False
    if not values:
        raise _invalid(text, "for 'in', 'notin' operators, values set can't be empty")
    return frozenset(values)


def _key(tok: str, text: str) -> str:
    if tok in _OPS:
        raise _invalid(text, f"found '{tok}', expected: identifier")
    return tok


def _invalid(text: str, why: str) -> ApiError:
    return ApiError(400, f"unable to parse requirement: {why} in selector {text!r}")


def label_predicate(text: str) -> Predicate:
    """A predicate over whole objects for a `labelSelector` query parameter."""
    reqs = parse_label_selector(text)

    def match(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.matches(labels) for r in reqs)

    return match


# The fields each kind lets you select on; anything else is refused, as the real server does.
_FIELDS_ANY = frozenset({"metadata.name", "metadata.namespace"})
_FIELDS_BY_KIND = {
    "Pod": frozenset(
        {"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName"}
        | {"status.phase", "status.podIP", "status.nominatedNodeName"}
    ),
    "Node": frozenset({"spec.unschedulable"}),
    "Namespace": frozenset({"status.phase"}),
}


def field_predicate(text: str, kind: str) -> Predicate:
    """A predicate for a `fieldSelector` query parameter (`=`, `==`, `!=` on supported fields)."""
    allowed = _FIELDS_ANY | _FIELDS_BY_KIND.get(kind, frozenset())
    terms: list[tuple[list[str], bool, str]] = []
    for term in filter(None, text.split(",")):
        m = re.fullmatch(r"([^=!]+)(==|=|!=)(.*)", term)
        if m is None:
            raise ApiError(400, f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, value = m.group(1).strip(), m.group(2), m.group(3)
        if field not in allowed:
            raise ApiError(400, f"field label not supported: {field}")
        terms.append((field.split("."), op == "!=", value))

    def match(obj: Mapping[str, Any]) -> bool:
        for path, negate, value in terms:
            node: Any = obj
            for part in path:
                node = node.get(part) if isinstance(node, Mapping) else None
            actual = "" if node is None else str(node).lower() if isinstance(node, bool) else str(node)
            if (actual == value) == negate:
                return False
        return True

    return match
