"""What the run knows of its custom images (docs/architecture.md, "Custom images"): each tag's
export, and each approver's waiver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from actions.exported import ImageOutcome


@dataclass(frozen=True)
class ExportedTag:
    """One custom tag as the run's newest export of it wrote it, and its newest verification."""

    tag: str
    location: str
    """The run's layout (`/var/lib/regclean/exports/run-3`, `sftp://10.0.0.11/cpaas/exports/run-3`)."""
    digest: str | None
    """The top manifest's digest (an index's for a multi-arch image); None when it was not exported."""
    media_type: str | None
    manifests: int | None
    blobs: int | None
    bytes: int | None
    exported_at: datetime
    verified_at: datetime | None
    """When the layout was last read back intact for this tag; None when that failed or never ran."""
    problem: str | None
    """Why it is not exported, or why the newest verification failed."""

    @property
    def ok(self) -> bool:
        """Exported and, at its newest verification, intact."""
        return self.problem is None and self.digest is not None and self.verified_at is not None


@dataclass(frozen=True)
class Waiver:
    """An approver let the purge delete one custom tag unexported."""

    tag: str
    approver: str
    at: datetime


@dataclass(frozen=True)
class CustomImages:
    """The run's exports and waivers, by tag."""

    exports: dict[str, ExportedTag]
    waivers: dict[str, Waiver]

    def expected(self, tags: tuple[str, ...]) -> dict[str, str]:
        """tag → exported digest, for those of tags that were exported (what verify and push check)."""
        return {
            t: e.digest
            for t in tags
            if (e := self.exports.get(t)) is not None and e.digest is not None and t not in self.waivers
        }


@dataclass(frozen=True)
class ImagesReport:
    """Where an export, a verification or a re-push of custom images stands: one line per image
    once it is done, shown in place while the step runs."""

    action: str
    """`export` or `push`."""
    location: str
    """The run's layout."""
    tags: tuple[str, ...]
    """Every tag the step works on, in order."""
    done: tuple[ImageOutcome, ...]
    """The images finished so far (all of them once `finished`)."""
    finished: bool = False
    verdict: str | None = None
    """Once finished: one sentence on the whole (e.g. "2 of 2 exported and verified, 31.4 MB")."""

    @property
    def failed(self) -> tuple[ImageOutcome, ...]:
        """The images that did not make it, each with its problem."""
        return tuple(o for o in self.done if not o.ok)
