"""The two log lines of every step attempt, its start and its end, written by the engine.

The end line carries the outcome, the duration and the step's own counts (docs/architecture.md,
"Logs and metrics"): in JSON as fields (`event`, `outcome`, `duration_s`, `counts`, `error`), in
text in the message itself.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.core.model import StepState, StepView

log = logging.getLogger(__name__)


def log_start(step: StepView, requested_by: str) -> None:
    """`step inventory #1 of run #1 started by UALICE`."""
    log.info(
        "step %s #%d of run #%d started by %s",
        step.name,
        step.id,
        step.run_id,
        requested_by,
        extra={
            "fields": {"event": "step.start", "requested_by": requested_by},
            "run": step.run_id,
            "step": step.name,
            "step_id": step.id,
        },
    )


def log_end(step: StepView, counts: Mapping[str, int]) -> float:
    """`step purge #6 of run #1 ended: succeeded in 4.3 s, objects_removed=600, …`; the seconds it took
    (by the store's times, as the checklist shows them)."""
    seconds = ((step.finished_at or step.started_at) - step.started_at).total_seconds()
    fields: dict[str, object] = {
        "event": "step.end",
        "outcome": str(step.state),
        "duration_s": round(seconds, 3),
        "counts": dict(counts),
    }
    if step.error:
        fields["error"] = step.error
    said = "".join(f", {key}={value}" for key, value in counts.items())
    why = f": {step.error}" if step.error else ""
    log.log(
        logging.INFO if step.state is StepState.SUCCEEDED else logging.WARNING,
        "step %s #%d of run #%d ended: %s in %.1f s%s%s",
        step.name,
        step.id,
        step.run_id,
        step.state,
        seconds,
        said,
        why,
        extra={"fields": fields, "run": step.run_id, "step": step.name, "step_id": step.id},
    )
    return seconds
