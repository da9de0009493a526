"""VerifyStep alone: a pull check that cannot run, and one whose registry does not answer."""

from __future__ import annotations

from pathlib import Path

from bot.core.model import StepName, StepState
from bot.steps.restore.records import RestoreRecords
from bot.steps.verify.step import VerifyStep
from tests.unit.bot.steps.context import ALICE, Fakes, refused_port, step_context


def verify_step(f: Fakes) -> tuple[int, StepState, str | None]:
    run = f.store.active_run()
    assert run is not None
    step = run.latest(StepName.VERIFY)
    assert step is not None
    return run.id, step.state, step.error


async def test_without_a_registry_setting_the_step_fails_and_nothing_is_stored(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:  # the cluster must not be touched
        assert await VerifyStep(f.ctx).run(ALICE, "all") is None
        run_id, state, error = verify_step(f)
        assert state is StepState.FAILED and error is not None and "REGCLEAN_REGISTRY" in error
        assert RestoreRecords(f.store.db).latest_verification(run_id) is None
        [(_, requester)] = f.notifier.of("failed")
        assert requester == ALICE and f.notifier.of("verification") == []


async def test_an_unreachable_registry_is_a_failed_verification_naming_the_image(tmp_path: Path) -> None:
    with refused_port() as port:
        env = {"REGCLEAN_REGISTRY": f"127.0.0.1:{port}", "REGCLEAN_REGISTRY_INSECURE": "true"}
        with step_context(tmp_path, env) as f:
            verification = await VerifyStep(f.ctx).run(ALICE, "all")
            assert verification is not None and not verification.passed and verification.scope == "all"
            [check] = verification.checks
            assert check.image == "acp/core:latest", "the default probe image"
            assert check.problem is not None and check.problem.startswith("unreachable: ")
            run_id, state, error = verify_step(f)
            assert state is StepState.FAILED and error is not None
            assert error.startswith("0 of 1 images pull; not pullable: acp/core:latest (unreachable: ")
            assert RestoreRecords(f.store.db).latest_verification(run_id) == verification
            assert [v for _, v in f.notifier.of("verification")] == [verification]
            assert len(f.notifier.of("failed")) == 1


async def test_after_the_core_restore_an_unreachable_registry_fails_the_step_without_a_verdict(
    tmp_path: Path,
) -> None:
    with refused_port() as port:
        env = {"REGCLEAN_REGISTRY": f"127.0.0.1:{port}", "REGCLEAN_REGISTRY_INSECURE": "true"}
        with step_context(tmp_path, env) as f:
            assert await VerifyStep(f.ctx).run(ALICE, "core") is None
            run_id, state, error = verify_step(f)
            assert state is StepState.FAILED and error is not None
            assert f"Cannot reach the registry at http://127.0.0.1:{port}" in error
            assert RestoreRecords(f.store.db).latest_verification(run_id) is None


async def test_a_check_of_no_image_at_all_fails_instead_of_passing(tmp_path: Path) -> None:
    with refused_port() as port:
        env = {"REGCLEAN_REGISTRY": f"127.0.0.1:{port}", "REGCLEAN_PROBE_IMAGES": ","}
        with step_context(tmp_path, env) as f:
            assert await VerifyStep(f.ctx).run(ALICE, "all") is None
            _, state, error = verify_step(f)
            assert state is StepState.FAILED and error is not None and "no image to pull" in error
