"""Narrow an optional value in a test: the Kubernetes client's models type every field as optional."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def present(value: T | None) -> T:
    """The value, failing the test if it is None."""
    assert value is not None, "expected a value, got None"
    return value
