"""Reading a stored JSON object field by field, with each value's type checked and errors that say where.

The approval's plan is decoded with it: a stored plan that is not what was approved is refused with
the place and the value named (`plan.backups[0].bytes is float 1.5, not an integer`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any


class Fields:
    """One JSON object of a stored plan, read with its type checked; errors say where (`plan.minio.pod`)."""

    def __init__(
        self, value: object, where: str, keys: Collection[str], optional: Collection[str] = ()
    ) -> None:
        if not isinstance(value, Mapping):
            raise ValueError(f"{where} is {kind(value)}, not an object")
        unknown = sorted(str(k) for k in value if k not in keys)
        if unknown:
            raise ValueError(f"{where} has keys a plan does not have: {', '.join(unknown)}")
        missing = [k for k in keys if k not in value and k not in optional]
        if missing:
            raise ValueError(f"{where} lacks {', '.join(missing)}")
        self._value: Mapping[str, Any] = value
        self._where = where

    def __contains__(self, key: str) -> bool:
        return key in self._value

    def get(self, key: str) -> object:
        """The raw value."""
        return self._value[key]

    def integer(self, key: str) -> int:
        """An integer (a bool is not one)."""
        value = self._value[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._wrong(key, "an integer")
        return value

    def maybe_integer(self, key: str) -> int | None:
        """An integer or null."""
        return None if self._value[key] is None else self.integer(key)

    def text(self, key: str) -> str:
        """A string."""
        value = self._value[key]
        if not isinstance(value, str):
            raise self._wrong(key, "a string")
        return value

    def maybe_text(self, key: str) -> str | None:
        """A string or null."""
        return None if self._value[key] is None else self.text(key)

    def flag(self, key: str) -> bool:
        """A boolean."""
        value = self._value[key]
        if not isinstance(value, bool):
            raise self._wrong(key, "true or false")
        return value

    def array(self, key: str) -> Sequence[object]:
        """A list."""
        value = self._value[key]
        if not isinstance(value, list | tuple):
            raise self._wrong(key, "a list")
        return value

    def _wrong(self, key: str, expected: str) -> ValueError:
        return ValueError(f"{self._where}.{key} is {kind(self._value[key])}, not {expected}")


def kind(value: object) -> str:
    """How an error names a value: `null`, or its type and a short repr."""
    if value is None:
        return "null"
    shown = repr(value)
    return f"{type(value).__name__} {shown[:40] + '…' if len(shown) > 40 else shown}"
