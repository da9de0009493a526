"""Step `restore_custom`: the exported custom images pushed back after the restore
(`actions.image_push.push_images`, the same digests), each then pull-checked as a client pulls it
(`actions.pull_check.check_pulls`); a result per image, stored like the plugin restore's
(docs/architecture.md, "Custom images"). `--retry-failed` pushes only the images that failed last
time. With nothing exported it succeeds at once, saying so."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from actions.exported import ImageOutcome
from actions.image_export import push_images
from actions.pull_check import check_pulls
from bot.config.targets import registry_target
from bot.core.errors import RunbookError
from bot.core.model import RunView, StepName, StepState, StepView
from bot.core.notifier import Requester
from bot.steps.context import StepContext
from bot.steps.export.location import export_location, open_export
from bot.steps.export.model import ImagesReport
from bot.steps.export.records import ExportRecords
from bot.steps.preflight.records import PreflightRecords
from bot.store.database import Database
from bot.store.schema import ResultRow

KIND = "custom"


@dataclass(frozen=True)
class CustomPush:
    """One exported image after the restore: pushed back, and pulled."""

    tag: str
    digest: str
    pushed: bool
    pulled: bool
    problem: str | None


class CustomPushes:
    """The step's results, by run (table `step_results`, kind `custom`)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, run_id: int, step_id: int, pushes: tuple[CustomPush, ...]) -> None:
        """Store every image's outcome of one attempt."""
        result: dict[str, Any] = {"pushes": [p.__dict__ for p in pushes]}
        with self._db.session() as s:
            s.add(
                ResultRow(run_id=run_id, step_id=step_id, kind=KIND, result=result, at=self._db.clock.now())
            )

    def latest(self, run_id: int) -> tuple[CustomPush, ...] | None:
        """The newest attempt's outcomes (with a retry's merged in), or None."""
        with self._db.session() as s:
            query = select(ResultRow.result).where(ResultRow.run_id == run_id, ResultRow.kind == KIND)
            row = s.scalars(query.order_by(ResultRow.id.desc()).limit(1)).first()
            return None if row is None else tuple(CustomPush(**p) for p in row["pushes"])


class RestoreCustomStep:
    """`/regclean restore custom [--retry-failed]`, and after a successful plugin restore."""

    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx
        self._exports = ExportRecords(ctx.db)
        self._preflights = PreflightRecords(ctx.db)
        self.results = CustomPushes(ctx.db)

    async def run(self, requester: Requester, *, retry_failed: bool = False) -> tuple[CustomPush, ...] | None:
        """Push back and pull-check; the outcomes, or None when the step did not run or could not finish."""
        ctx, engine = self._ctx, self._ctx.engine
        run = await engine.db(ctx.store.active_run)
        core = run.latest(StepName.RESTORE_CORE) if run is not None else None
        if core is None or core.state != StepState.SUCCEEDED:
            await engine.refuse(
                requester, "Restore the core images first: `/regclean restore core` (runbook step 5)."
            )
            return None

        async def body(run: RunView, step: StepView, who: Requester) -> tuple[CustomPush, ...] | None:
            return await self._push(run, step, who, retry_failed)

        return await engine.requested(requester, StepName.RESTORE_CUSTOM, body)

    async def _push(
        self, run: RunView, step: StepView, requester: Requester, retry_failed: bool
    ) -> tuple[CustomPush, ...] | None:
        ctx, engine = self._ctx, self._ctx.engine
        location = export_location(ctx.settings).of_run(run.id)
        where = location.describe()
        previous = await engine.db(self.results.latest, run.id)

        async def work() -> tuple[CustomPush, ...]:
            record = await engine.db(self._preflights.latest_preflight, run.id)
            images = await engine.db(self._exports.custom_images, run.id)
            expected = images.expected(record.custom if record is not None else ())
            if retry_failed:
                failed = {p.tag for p in previous or () if not p.pulled}
                if not failed:
                    raise RunbookError("No custom image failed in the last push; there is nothing to retry.")
                expected = {t: d for t, d in expected.items() if t in failed}
            if not expected:
                return ()
            tags = tuple(expected)
            done: list[ImageOutcome] = []

            async def progress(outcome: ImageOutcome) -> None:
                done.append(outcome)
                await engine.tell(
                    ctx.notifier.images_changed(run, step, ImagesReport("push", where, tags, tuple(done)))
                )

            target = registry_target(ctx.settings)
            async with open_export(ctx.settings, ctx.kube, location) as store:
                pushed = await push_images(
                    target, store, expected, concurrency=ctx.settings.verify_concurrency, on_result=progress
                )
            good = [o.tag for o in pushed if o.ok]
            pulls = {
                r.image: r
                for r in await check_pulls(target, good, concurrency=ctx.settings.verify_concurrency)
            }
            results = tuple(
                CustomPush(
                    o.tag,
                    expected[o.tag],
                    o.ok,
                    o.ok and pulls[o.tag].pullable,
                    o.problem
                    if not o.ok
                    else (
                        None
                        if pulls[o.tag].pullable
                        else f"pushed, but does not pull: {pulls[o.tag].problem}"
                    ),
                )
                for o in pushed
            )
            if retry_failed and previous is not None:
                retried = {p.tag: p for p in results}
                results = tuple(retried.get(p.tag, p) for p in previous)
            return results

        pushes = await engine.guarded(run, step, requester, work)
        if pushes is None:
            return None
        await engine.db(self.results.save, run.id, step.id, pushes)
        failed = [p for p in pushes if not p.pulled]
        if not pushes:
            summary = "No custom image was exported; nothing to push back."
        else:
            summary = f"{len(pushes) - len(failed)} of {len(pushes)} custom images pushed back and pulled"
        report = ImagesReport(
            "push",
            where,
            tuple(p.tag for p in pushes),
            tuple(ImageOutcome(p.tag, p.pulled, p.problem, None) for p in pushes),
            True,
            summary + ("" if not pushes else f" from {where}."),
        )
        names = "; ".join(f"{p.tag}: {p.problem}" for p in failed)[:1500]
        error = (
            f"{summary}. Not back: {names}. Push them again with `/regclean restore custom --retry-failed`."
            if failed
            else None
        )
        counts = {"images_pushed": len(pushes) - len(failed), "images_failed": len(failed)}
        await engine.conclude(
            run,
            step,
            requester,
            summary,
            error,
            lambda r, s: ctx.notifier.images_changed(r, s, report),
            counts,
        )
        return pushes
