"""How long each step of the night is expected to take: as measured in the newest closed run, or as
configured (REGCLEAN_STEP_EXPECTED) for a step that run never finished, or when there is no such run."""

from __future__ import annotations

from bot.config.settings import Settings
from bot.core.model import RUNBOOK, RunView
from bot.rehearse.model import StepEstimate
from bot.steps.close.judge import step_times
from bot.steps.close.records import CloseRecords
from bot.store.runs import Store

CONFIGURED = "configured"


def last_closed_run(store: Store) -> RunView | None:
    """The newest run that ended, with its steps (None when no run ever ended)."""
    closed = CloseRecords(store.db).last_closed()
    return store.run(closed[0]) if closed else None


def estimates(settings: Settings, run: RunView | None) -> tuple[tuple[StepEstimate, ...], str]:
    """Each runbook step's expected time, and the source in words."""
    measured = {t.name: t.seconds for t in step_times(run) if t.seconds > 0} if run is not None else {}
    measured_in = f"run #{run.id}" if run is not None else ""
    out = []
    for entry in RUNBOOK:
        if entry.name in measured:
            out.append(StepEstimate(entry.name, entry.title, measured[entry.name], measured_in))
        else:
            expected = settings.step_expected.get(entry.name)
            seconds = expected.total_seconds() if expected is not None else 0.0
            out.append(StepEstimate(entry.name, entry.title, seconds, CONFIGURED))
    if run is None:
        return tuple(out), "the configured estimates (REGCLEAN_STEP_EXPECTED): no run has been closed yet"
    if not measured:
        return tuple(
            out
        ), f"the configured estimates (REGCLEAN_STEP_EXPECTED): closed run #{run.id} measured no step"
    if all(e.source != CONFIGURED for e in out):
        return tuple(out), f"the measured durations of closed run #{run.id}"
    return tuple(out), (
        f"the measured durations of closed run #{run.id}, and the configured estimates "
        "(REGCLEAN_STEP_EXPECTED) for the steps it did not finish"
    )
