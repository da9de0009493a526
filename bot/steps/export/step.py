"""`/regclean export`: every custom tag of the run's newest preflight into the run's OCI image
layout (`actions.image_export.export_images`), read back at once (`verify_export`), one line per
image shown in place as images finish (docs/architecture.md, "Custom images").

`ExportCheck` (`bot/steps/export/check.py`) reads it back again before the purge.
"""

from __future__ import annotations

from collections.abc import Sequence

from actions.exported import ImageOutcome
from actions.image_export import export_images, verify_export
from bot.config.targets import registry_target
from bot.core.errors import RunbookError
from bot.core.model import RunView, Said, StepName, StepState, StepView
from bot.core.notifier import Notice, Requester
from bot.core.wording import counted
from bot.steps.context import StepContext
from bot.steps.export.location import export_location, open_export
from bot.steps.export.model import ImagesReport
from bot.steps.export.records import ExportRecords
from bot.steps.preflight.records import PreflightRecords

NO_PREFLIGHT = (
    "There is no preflight in this run to say which images are custom: run `/regclean preflight` first."
)


class ExportStep:
    """`/regclean export`."""

    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx
        self._records = ExportRecords(ctx.db)
        self._preflights = PreflightRecords(ctx.db)

    async def export(self, requester: Requester) -> ImagesReport | None:
        """Export and verify every custom tag; the report, or None when the step could not start."""
        return await self._ctx.engine.requested(requester, StepName.EXPORT, self._export)

    async def waive(self, user: str, tags: Sequence[str]) -> Said:
        """An approver lets the purge delete these custom tags unexported (the command checks the role);
        audited, told in the run's thread, and named in the plan."""
        engine = self._ctx.engine
        if not tags:
            raise RunbookError("Name the custom images to waive: `/regclean waive REPO:TAG [REPO:TAG…]`.")
        run = await engine.db(self._ctx.store.active_run)
        if run is None:
            raise RunbookError("No run is active: there is nothing to waive.")
        record = await engine.db(self._preflights.latest_preflight, run.id)
        if record is None:
            raise RunbookError(NO_PREFLIGHT)
        unknown = [t for t in tags if t not in record.custom]
        if unknown:
            raise RunbookError(
                f"Not custom images of this run's preflight: {', '.join(unknown)}. Waive only what the preflight "
                "lists as custom (REPO:TAG, exactly)."
            )
        new, known = await engine.db(self._records.waive, run.id, tags, user)
        if new:
            users = "; ".join(
                f"{w.tag} (used by {', '.join(record.custom_workloads.get(w.tag, ())) or 'no workload'})"
                for w in new
            )
            # The notice names `user` first (the Notifier renders it); the workloads are the
            # cluster's names, text to be escaped, with their braces kept out of the time slots.
            them = "it" if len(new) == 1 else "them"
            await engine.notice(
                run.id,
                Notice(
                    f"waived {counted(len(new), 'custom image')}: the purge deletes {them} for good and nothing "
                    f"restores {them}: {users.replace('{', '{{').replace('}', '}}')}.",
                    people=(user,),
                ),
            )
        said = (
            [f"You waived {', '.join(w.tag for w in new)}: the purge may delete them unexported."]
            if new
            else []
        )
        said += [f"{w.tag} was already waived by {{{i}}}." for i, w in enumerate(known)]
        return Said(" ".join(said), tuple(w.approver for w in known))

    async def _export(self, run: RunView, step: StepView, requester: Requester) -> ImagesReport | None:
        ctx, engine = self._ctx, self._ctx.engine
        location = export_location(ctx.settings).of_run(run.id)
        where = location.describe()

        async def work() -> tuple[ImagesReport, list[ImageOutcome], list[ImageOutcome]]:
            record = await engine.db(self._preflights.latest_preflight, run.id)
            if record is None:
                raise RunbookError(NO_PREFLIGHT)
            tags = record.custom
            if not tags:
                return (
                    ImagesReport("export", where, (), (), True, "The preflight found no custom images."),
                    [],
                    [],
                )
            done: list[ImageOutcome] = []

            async def progress(outcome: ImageOutcome) -> None:
                done.append(outcome)
                await engine.tell(
                    ctx.notifier.images_changed(run, step, ImagesReport("export", where, tags, tuple(done)))
                )

            await engine.tell(ctx.notifier.images_changed(run, step, ImagesReport("export", where, tags, ())))
            async with open_export(ctx.settings, ctx.kube, location) as store:
                exported = await export_images(
                    registry_target(ctx.settings), tags, store, concurrency=ctx.settings.verify_concurrency,
                    on_result=progress,
                )  # fmt: skip
                written = {o.tag: o.image.digest for o in exported if o.ok and o.image is not None}
                verified = await verify_export(store, written)
            return _report(where, tags, exported, verified), exported, verified

        result = await engine.guarded(run, step, requester, work)
        if result is None:
            return None
        report, exported, verified = result
        if exported:
            await engine.db(self._records.save_export, run.id, step.id, where, exported, verified)
        state = StepState.FAILED if report.failed else StepState.SUCCEEDED
        done = await engine.finish(
            step,
            state,
            summary=report.verdict if state is StepState.SUCCEEDED else None,
            error=report.verdict if state is StepState.FAILED else None,
            counts={"images": len(exported), "images_exported": sum(o.ok for o in exported)},
        )
        run = await engine.refresh(run)
        await engine.tell(ctx.notifier.images_changed(run, done, report))
        if state is StepState.FAILED:
            await engine.tell(ctx.notifier.step_failed(run, done, requester))
        await engine.show(run)
        return report


def _report(
    where: str, tags: tuple[str, ...], exported: Sequence[ImageOutcome], verified: Sequence[ImageOutcome]
) -> ImagesReport:
    """One outcome per tag: the export's problem, else the read back's."""
    checked = {o.tag: o for o in verified}
    final = tuple(checked.get(o.tag, o) if o.ok else o for o in exported)
    good = [o for o in final if o.ok]
    size = sum(o.image.bytes for o in good if o.image is not None)
    verdict = (
        f"{len(good)} of {len(final)} custom images exported and verified ({human_size(size)}) to {where}."
    )
    if len(good) < len(final):
        verdict += (
            " Not exported: " + "; ".join(f"{o.tag}: {o.problem}" for o in final if not o.ok)[:1500] + "."
        )
    return ImagesReport("export", where, tags, final, True, verdict)


def human_size(size: int) -> str:
    """Bytes as the export's own messages write them (1.5 MiB)."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"
