"""What the restore and the verification leave behind, as the core hands them on."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ImageCheck:
    """One image's pull check."""

    image: str
    pullable: bool
    problem: str | None


@dataclass(frozen=True)
class Verification:
    """A pull check of a set of images, and why that set."""

    scope: str
    """`probes`, `core` (after the core restore), `all` (after the plugins, or on request)."""
    checks: tuple[ImageCheck, ...]

    @property
    def passed(self) -> bool:
        """Every image pulls."""
        return all(c.pullable for c in self.checks)

    @property
    def failed(self) -> tuple[ImageCheck, ...]:
        """The images that do not pull, each with its reason."""
        return tuple(c for c in self.checks if not c.pullable)


@dataclass(frozen=True)
class PackagePush:
    """One `violet push` of a plugin package."""

    package: str
    pushed: bool
    exit_status: int | None
    """None: the outcome is unknown (connection lost or timed out)."""
    tail: tuple[str, ...]
    """The last lines of its output, passwords masked."""


@dataclass(frozen=True)
class PluginRestore:
    """Every package of one restore-plugins step."""

    pushes: tuple[PackagePush, ...]

    @property
    def failed(self) -> tuple[PackagePush, ...]:
        """The packages that were not pushed."""
        return tuple(p for p in self.pushes if not p.pushed)
