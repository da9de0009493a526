"""The rehearsal's Slack message and terminal text, its durations' source, and who may ask for it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block as SdkBlock

from bot.config.settings import Settings
from bot.core.authz import COMMAND_ROLES, Role
from bot.core.model import RunState, RunView, StepName, StepState, StepView
from bot.doctor.model import Check, DoctorReport
from bot.rehearse.durations import estimates
from bot.rehearse.model import BucketPlan, LostTag, Rehearsal
from bot.rehearse.render import rehearsal_lines
from bot.steps.preflight.gates import Gate
from handlers.blocks.rehearse import rehearsal_blocks, rehearsal_text

T0 = datetime(2026, 1, 1, 22, tzinfo=UTC)


def rehearsal(*, platform_ok: bool = True, gate_ok: bool = True, run: RunView | None = None) -> Rehearsal:
    settings = Settings.model_validate({})
    durations, source = estimates(settings, run)
    return Rehearsal(
        doctor=DoctorReport(
            (
                Check("slack", "auth.test", True, "ok"),
                Check(
                    "platform",
                    "address",
                    platform_ok,
                    "connection refused",
                    "" if platform_ok else "Check URL",
                ),
            )
        ),
        bucket=BucketPlan("registry", "minio-0", "Enabled", 136, 55_173),
        lost=(LostTag("retail/order-service:1.4.2", ("retail-prod/order-service",)), LostTag("x/y:1", ())),
        gates=(Gate("packages", "A package for everything", gate_ok, "seen", None if gate_ok else "Add it"),),
        on_the_night=(Gate("inventory", "Operators recorded", False, "No inventory", "Run inventory"),),
        durations=durations,
        durations_from=source,
    )


def closed_run() -> RunView:
    def step(i: int, name: str, minutes: int) -> StepView:
        start = T0 + timedelta(hours=i)
        return StepView(
            i, 7, name, StepState.SUCCEEDED, "UALICE", start, start + timedelta(minutes=minutes), None, None
        )

    steps = (step(1, StepName.INVENTORY, 4), step(2, StepName.PURGE, 50), step(3, StepName.PURGE, 10))
    return RunView(7, RunState.SUCCEEDED, T0, "UALICE", "C1", {}, steps)


def test_go_only_when_no_doctor_failure_and_no_gate_fails() -> None:
    assert rehearsal().go and rehearsal_text(rehearsal()) == "regclean rehearse: GO"
    no = rehearsal(platform_ok=False, gate_ok=False)
    assert not no.go
    assert [(b.source, b.name, b.remedy) for b in no.blockers] == [
        ("doctor", "platform address", "Check URL"),
        ("gate", "A package for everything", "Add it"),
    ]
    assert rehearsal_text(no) == "regclean rehearse: NO-GO (2 to fix first)"
    assert rehearsal(gate_ok=True).on_the_night, "what needs the night's run never counts against GO"


def test_blocks_name_bytes_lost_tags_durations_source_and_each_reason() -> None:
    blocks = rehearsal_blocks(rehearsal(platform_ok=False))
    assert all(SdkBlock.parse(b) is not None for b in blocks)
    text = "\n".join(str(b) for b in blocks)
    assert "136 objects, 55,173 bytes (every version: the bucket is versioned)" in text
    assert "`retail/order-service:1.4.2` used by retail-prod/order-service" in text
    assert "`x/y:1` used by no workload" in text
    assert "no run has been closed yet" in text
    assert "*NO-GO*" in text and "*platform address* (doctor): connection refused" in text
    assert "→ Check URL" in text


def test_durations_come_from_the_last_closed_run_and_the_configured_rest() -> None:
    settings = Settings.model_validate({"step_expected": "backup=90m"})
    durations, source = estimates(settings, closed_run())
    by = {d.name: (d.seconds, d.source) for d in durations}
    assert by[StepName.INVENTORY] == (240, "run #7")
    assert by[StepName.PURGE] == (3600, "run #7"), "every attempt counts"
    assert by[StepName.BACKUP] == (5400, "configured")
    assert "closed run #7" in source and "REGCLEAN_STEP_EXPECTED" in source
    _, none = estimates(settings, None)
    assert none.startswith("the configured estimates")


def test_terminal_text_ends_with_the_verdict() -> None:
    lines = rehearsal_lines(rehearsal(gate_ok=False))
    assert lines[-1].startswith("NO-GO: 1 to fix first")
    assert any("retail/order-service:1.4.2" in line and "retail-prod/order-service" in line for line in lines)
    assert rehearsal_lines(rehearsal())[-1].startswith("GO:")


def test_operators_and_approvers_may_rehearse() -> None:
    assert COMMAND_ROLES["rehearse"] == frozenset({Role.OPERATOR, Role.APPROVER})
