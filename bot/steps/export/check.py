"""The export read back again (`actions.image_verify.verify_export`) whenever gate 5 is judged with
exports in the run: after a preflight, when the approval request is built and when the purge starts
(docs/architecture.md, "Custom images"). A blob changed on disk since the export names the blob and
its tags in the gate, which then does not hold: the request is refused, or the purge voided."""

from __future__ import annotations

from collections.abc import Sequence

from actions.errors import RegcleanError
from actions.exported import ImageOutcome
from actions.image_export import verify_export
from bot.steps.context import StepContext
from bot.steps.export.location import export_location, open_export
from bot.steps.export.model import CustomImages
from bot.steps.export.records import ExportRecords


class ExportCheck:
    """The run's exports and waivers, each exported tag read back first."""

    def __init__(self, ctx: StepContext) -> None:
        self._ctx = ctx
        self._records = ExportRecords(ctx.db)

    async def stored(self, run_id: int) -> CustomImages:
        """The run's exports and waivers as stored, nothing read back."""
        return await self._ctx.engine.db(self._records.custom_images, run_id)

    async def verified(self, run_id: int, tags: Sequence[str]) -> CustomImages:
        """Read the export of each of tags that was exported (and not waived) back, and store what that found."""
        ctx = self._ctx
        images = await self.stored(run_id)
        expected = images.expected(tuple(tags))
        if not expected:
            return images
        location = export_location(ctx.settings).of_run(run_id)
        here = location.describe()
        moved = {t for t in expected if images.exports[t].location != here}
        outcomes = [
            ImageOutcome(
                t,
                False,
                f"the export is at {images.exports[t].location}, not at {here} (REGCLEAN_EXPORT_DIR changed): "
                "export again",
                None,
            )
            for t in sorted(moved)
        ]
        mine = {t: d for t, d in expected.items() if t not in moved}
        if mine:
            try:
                async with open_export(ctx.settings, ctx.kube, location) as store:
                    outcomes += await verify_export(store, mine, concurrency=ctx.settings.verify_concurrency)
            except RegcleanError as exc:  # the node or the directory: every tag's problem, the gate says it
                outcomes += [
                    ImageOutcome(t, False, f"the export at {here} cannot be read: {exc}", None) for t in mine
                ]
        return await ctx.engine.db(self._records.save_verification, run_id, outcomes)
