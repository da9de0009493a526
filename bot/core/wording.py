"""Words that follow a number: "1 thing", "2 things" (docs/architecture.md, "Steps")."""

from __future__ import annotations


def counted(n: int, one: str, many: str | None = None) -> str:
    """`n` with the noun in the form the number takes: counted(1, "thing") is "1 thing"."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"
