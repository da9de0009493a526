"""Runbook step 6: prove that images pull, in full (manifests, config and every layer, digests checked).

"The script printed no error" is not success: after each restore, and on `/regclean verify`, the
images are pulled as a client pulls them (docs/architecture.md, "Verification").
"""

from __future__ import annotations

from collections.abc import Sequence

from actions.errors import ActionError
from actions.pull_check import check_pulls
from actions.registry import RegistryClient, RegistryTarget
from bot.config.targets import registry_target
from bot.core.model import RunView, StepName, StepState, StepView
from bot.core.notifier import Requester
from bot.steps.close.judge import in_catalog
from bot.steps.context import StepContext
from bot.steps.preflight.records import PreflightRecords
from bot.steps.restore.model import ImageCheck, Verification
from bot.steps.restore.records import RestoreRecords


class VerifyStep:
    """Pull the probe images and the workload images the preflight recorded."""

    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx
        self._records = PreflightRecords(ctx.db)
        self._restores = RestoreRecords(ctx.db)

    async def run(self, requester: Requester, scope: str) -> Verification | None:
        """Pull check as a step: `core` (the workload images the registry holds again) or `all`.

        None when the step was refused or could not run; otherwise its verdict, also stored."""

        async def body(run: RunView, step: StepView, who: Requester) -> Verification | None:
            return await self._verify(run, step, who, scope)

        return await self._ctx.engine.requested(requester, StepName.VERIFY, body)

    async def _verify(
        self, run: RunView, step: StepView, requester: Requester, scope: str
    ) -> Verification | None:
        ctx, engine = self._ctx, self._ctx.engine
        settings = ctx.settings
        record = await engine.db(self._records.latest_preflight, run.id)

        async def work() -> Verification:
            target = registry_target(settings)
            workloads = list(record.workload_images) if record is not None else []
            if scope == "core":
                workloads = await _present(target, workloads)
            images = list(dict.fromkeys([*settings.probe_images, *workloads]))
            if not images:  # a check of nothing would pass, and let the run close as succeeded
                raise ActionError(
                    "There is no image to pull: set REGCLEAN_PROBE_IMAGES, or record the workloads' images "
                    "with `/regclean preflight`, then verify again."
                )
            checked = 0

            async def counted(_: object) -> None:
                nonlocal checked
                checked += 1
                await engine.tell(
                    ctx.notifier.step_progress(run, step, f"{checked} of {len(images)} images pulled")
                )

            results = await check_pulls(
                target, images, concurrency=settings.verify_concurrency, on_result=counted
            )
            return Verification(scope, tuple(ImageCheck(r.image, r.pullable, r.problem) for r in results))

        verification = await engine.guarded(run, step, requester, work)
        if verification is None:
            return None
        await engine.db(self._restores.save_verification, run.id, step.id, verification)
        summary = (
            f"{len(verification.checks) - len(verification.failed)} of {len(verification.checks)} images pull"
        )
        state = StepState.SUCCEEDED if verification.passed else StepState.FAILED
        error = (
            None
            if verification.passed
            else f"{summary}; not pullable: "
            + "; ".join(f"{c.image} ({c.problem})" for c in verification.failed[:10])
        )
        pulled = len(verification.checks) - len(verification.failed)
        counts = {"images_pulled": pulled, "images_not_pullable": len(verification.failed)}
        done = await engine.finish(step, state, summary=summary, error=error, counts=counts)
        run = await engine.refresh(run)
        await engine.tell(ctx.notifier.verification_finished(run, done, verification))
        if not verification.passed:
            await engine.tell(ctx.notifier.step_failed(run, done, requester))
        await engine.show(run)
        return verification


async def _present(target: RegistryTarget, images: Sequence[str]) -> list[str]:
    """The images whose repository and tag are in the registry now (what the core restore brought back)."""
    async with RegistryClient(target) as client:
        catalog = await client.record()
    return [image for image in images if in_catalog(image, target.address, catalog.repositories)]
