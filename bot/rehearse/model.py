"""What a rehearsal found: what the purge would delete, the tags that would not come back, how long
each step is expected to take, and what stands between now and a GO (docs/architecture.md,
"Before the night: the rehearsal")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.doctor.model import DoctorReport
from bot.steps.preflight.gates import Gate


@dataclass(frozen=True)
class BucketPlan:
    """What the purge would delete: the bucket's objects and bytes as `mc du --json` measures them."""

    bucket: str
    pod: str = ""
    versioning: str = ""
    """`Enabled`, `Suspended` or "" (never versioned); every version is counted when versioned."""
    objects: int | None = None
    bytes: int | None = None
    problem: str = ""
    """Why it could not be measured (empty when it was)."""

    def as_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "bucket": self.bucket,
            "pod": self.pod,
            "versioning": self.versioning or "never",
            "objects": self.objects,
            "bytes": self.bytes,
            "problem": self.problem,
        }


@dataclass(frozen=True)
class LostTag:
    """A tag in the registry that neither upload.sh nor any package pushes back: lost for good."""

    tag: str
    workloads: tuple[str, ...]
    """`namespace/name` of each workload that uses it."""


@dataclass(frozen=True)
class StepEstimate:
    """How long a step is expected to take, and where that comes from."""

    name: str
    title: str
    seconds: float
    source: str
    """`run #N` (measured in that closed run) or `configured` (REGCLEAN_STEP_EXPECTED)."""


@dataclass(frozen=True)
class Blocker:
    """One reason for NO-GO: a doctor check that failed, a gate that would not hold, or a read that failed."""

    source: str
    """`doctor`, `gate` or `rehearsal`."""
    name: str
    detail: str
    remedy: str


@dataclass(frozen=True)
class Rehearsal:
    """Everything the rehearsal read and judged; nothing of it is stored."""

    doctor: DoctorReport
    bucket: BucketPlan
    lost: tuple[LostTag, ...]
    gates: tuple[Gate, ...]
    """The gates that can be judged without a run (packages, verification, custom images)."""
    on_the_night: tuple[Gate, ...]
    """Gates that need a run or a person's acknowledgement on the night: what would be needed."""
    durations: tuple[StepEstimate, ...]
    durations_from: str
    """Where the durations come from, in words."""
    problems: tuple[Blocker, ...] = ()
    """Reads that failed (the inventory, the preflight's gather)."""
    inventory: str = ""
    """What the inventory read found, in one line (empty when it failed)."""

    @property
    def blockers(self) -> tuple[Blocker, ...]:
        """Every reason for NO-GO, doctor failures first."""
        failed = [Blocker("doctor", f"{c.area} {c.name}", c.detail, c.remedy) for c in self.doctor.failures]
        gates = [Blocker("gate", g.title, g.detail, g.remedy or "") for g in self.gates if not g.passed]
        return (*failed, *self.problems, *gates)

    @property
    def go(self) -> bool:
        """GO only when nothing blocks."""
        return not self.blockers

    @property
    def total_seconds(self) -> float:
        """The expected duration of the whole night."""
        return sum(d.seconds for d in self.durations)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (`regclean rehearse --format json`)."""
        return {
            "go": self.go,
            "inventory": self.inventory,
            "purge": self.bucket.as_dict(),
            "lost_tags": [{"tag": t.tag, "workloads": list(t.workloads)} for t in self.lost],
            "durations": {
                "source": self.durations_from,
                "total_seconds": self.total_seconds,
                "steps": [
                    {"step": d.name, "title": d.title, "seconds": d.seconds, "source": d.source}
                    for d in self.durations
                ],
            },
            "gates": [_gate(g) for g in self.gates],
            "on_the_night": [_gate(g) for g in self.on_the_night],
            "blockers": [
                {"source": b.source, "name": b.name, "detail": b.detail, "remedy": b.remedy}
                for b in self.blockers
            ],
            "doctor": self.doctor.as_dict(),
        }


def _gate(gate: Gate) -> dict[str, Any]:
    return {
        "gate": gate.key,
        "title": gate.title,
        "passed": gate.passed,
        "detail": gate.detail,
        "remedy": gate.remedy or "",
    }
