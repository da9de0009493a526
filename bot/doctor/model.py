"""What a check found: a name, pass or fail, what was seen, and what to do."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from actions.errors import RegcleanError


@dataclass(frozen=True)
class Check:
    """One check's verdict (one line of the report)."""

    area: str
    """`slack`, `kubernetes`, `minio`, `registry`, `nodes`, `installer` or `platform`."""
    name: str
    ok: bool
    detail: str
    """What was seen; never a secret."""
    remedy: str = ""
    """What to do when it failed or warns (empty when it passed)."""
    warning: bool = False
    """It passed, but something is worth knowing and may be changed (`warn` in the report)."""

    @property
    def status(self) -> str:
        """`pass`, `warn` or `fail`."""
        return "fail" if not self.ok else "warn" if self.warning else "pass"

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (`regclean doctor --format json`)."""
        return {
            "area": self.area,
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "remedy": self.remedy,
        }


@dataclass(frozen=True)
class DoctorReport:
    """Every check, in the order of the areas."""

    checks: tuple[Check, ...]

    @property
    def passed(self) -> bool:
        """Every check passed (and there was at least one)."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> tuple[Check, ...]:
        """The checks that failed."""
        return tuple(c for c in self.checks if not c.ok)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"passed": self.passed, "checks": [c.as_dict() for c in self.checks]}


def ok(area: str, name: str, detail: str) -> Check:
    """A passed check."""
    return Check(area, name, True, detail)


def warn(area: str, name: str, detail: str, remedy: str) -> Check:
    """A passed check with something worth knowing (it does not fail the doctor)."""
    return Check(area, name, True, detail, remedy, warning=True)


def fail(area: str, name: str, detail: str, remedy: str) -> Check:
    """A failed check with what to do."""
    return Check(area, name, False, detail, remedy)


async def guarded(
    area: str, name: str, remedy: str, checks: Callable[[], Awaitable[Iterable[Check]]]
) -> list[Check]:
    """Run an area's checks; an error that stops them becomes one failed check named `name`."""
    try:
        return list(await checks())
    except RegcleanError as exc:
        return [fail(area, name, str(exc), remedy)]
