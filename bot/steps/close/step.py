"""Close the run: record the inventory again, read the catalog again, measure the bucket, and report.

The run closes on its own once a pull check of every recorded image passes after the plugin
restore; `/regclean close` closes it by hand (as failed, when something is missing). The run is
`succeeded` only when that pull check passed and nothing that workloads use is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from actions.errors import ActionError
from actions.minio import PurgeResult, bucket_usage, minio_pod
from actions.registry import RegistryClient
from bot.config.targets import minio_target, registry_target
from bot.core.model import RunView, SnapshotView, StepName, StepState, StepView
from bot.core.notifier import Requester
from bot.core.wording import counted
from bot.steps.approval.step import ApprovalStep
from bot.steps.close.judge import check_custom, check_inventory, compare_catalog, left_to_do, step_times
from bot.steps.close.records import CloseRecords
from bot.steps.close.report import Bucket, CustomCheck, FinalReport
from bot.steps.context import StepContext
from bot.steps.export.records import ExportRecords
from bot.steps.export.repush import CustomPushes
from bot.steps.inventory.diff import diff_inventories
from bot.steps.inventory.step import InventoryStep
from bot.steps.preflight.records import PreflightRecords
from bot.steps.purge.records import PurgeRecords
from bot.steps.restore.model import Verification
from bot.steps.restore.records import RestoreRecords


class CloseStep:
    """`/regclean close`, and the close that follows a pull check of everything that passed."""

    def __init__(self, ctx: StepContext, inventory: InventoryStep, approval: ApprovalStep) -> None:
        self._ctx = ctx
        self._inventory = inventory
        self._approval = approval
        self._closing = CloseRecords(ctx.db)
        self._records = PreflightRecords(ctx.db)
        self._purges = PurgeRecords(ctx.db)
        self._restores = RestoreRecords(ctx.db)
        self._exports = ExportRecords(ctx.db)
        self._pushes = CustomPushes(ctx.db)

    def last_closed(self) -> tuple[int, str, datetime] | None:
        """The newest run that ended: its id, state and when (blocking: read with the rest of a status)."""
        return self._closing.last_closed()

    async def close(self, requester: Requester) -> None:
        """Close the active run with its final report; refused while a step runs, or after a purge
        whose core restore has not succeeded."""
        engine = self._ctx.engine
        run = await engine.db(self._ctx.store.active_run)
        refusal = _refusal(run)
        if refusal is not None:
            await engine.refuse(requester, refusal)
            return
        await engine.requested(requester, StepName.CLOSE, self._close)

    async def _close(self, run: RunView, step: StepView, requester: Requester) -> None:
        ctx, engine = self._ctx, self._ctx.engine
        settings = ctx.settings

        async def say(text: str) -> None:
            await engine.tell(ctx.notifier.step_progress(run, step, text))

        async def work() -> FinalReport:
            after = await self._inventory.read(run, step)
            saved = await self._inventory.save(run, step, requester, after)
            request_id = await engine.db(self._closing.purge_request, run.id)
            view = await self._approval.get(request_id) if request_id is not None else None
            before = await self._approved_snapshot(
                run, view.plan.inventory.snapshot if view else None, saved.id
            )
            diff = await diff_inventories(before.inventory, after) if before and before.inventory else None
            inventory = check_inventory(
                before.inventory if before else None,
                after,
                diff,
                ids=(before.id if before else None, saved.id),
            )
            await say("reading the registry's catalog")
            target = registry_target(settings)
            async with RegistryClient(target) as client:
                now = await client.record()
            record = await engine.db(self._records.latest_preflight, run.id)
            catalog = compare_catalog(
                record.repositories if record else {},
                now.repositories,
                registry=target.address,
                workload_images=record.workload_images if record else (),
                custom=record.custom if record else (),
            )
            await say(f"measuring the bucket {settings.minio_bucket}")
            purged = await engine.db(self._purges.latest, run.id)
            # A purge that was cut off or failed may still have emptied the bucket: it counts.
            purged_ok = run.latest(StepName.PURGE) is not None
            bucket = await self._bucket(purged[0] if purged else None)
            verification = await engine.db(self._restores.latest_verification, run.id)
            plugins = await engine.db(self._restores.latest_plugins, run.id)
            backups = await engine.db(ctx.store.latest_backups, run.id)
            failed_packages = [p.package for p in plugins.failed] if plugins else []
            verified_all = _verified_all(verification)
            custom = (
                await self._custom(
                    run.id, record.custom if record else (), record.custom_workloads if record else {}
                )
                if purged_ok
                else None
            )
            todo = left_to_do(
                run,
                catalog=catalog,
                inventory=inventory,
                failed_images=[c.image for c in verification.failed] if verification else [],
                verified_all=verified_all,
                failed_packages=failed_packages,
                archives=[f"{b.address}:{b.archive}" for b in backups if b.verified],
                custom=custom,
            )
            if bucket.bytes_after is None:
                todo = (
                    *todo,
                    f"Measure the bucket by hand (`mc du minio/{bucket.name}`): regclean could not.",
                )
            return FinalReport(
                run_id=run.id,
                closed_by=requester.user,
                requester=view.requester if view else None,
                approvers=view.approvals if view else (),
                bucket=bucket,
                objects_removed=purged[0].removed if purged else None,
                steps=step_times(run),
                inventory=inventory,
                catalog=catalog,
                images_checked=len(verification.checks) if verification else 0,
                images_pullable=len(verification.checks) - len(verification.failed) if verification else 0,
                verified_scope=verification.scope if verification else None,
                packages_pushed=len(plugins.pushes) - len(failed_packages) if plugins else 0,
                packages_total=len(plugins.pushes) if plugins else 0,
                left_to_do=todo,
                succeeded=purged_ok
                and verified_all
                and not catalog.missing
                and not (custom and custom.not_back),
                purged=purged_ok,
                custom=custom,
                participants=tuple(
                    dict.fromkeys(
                        [
                            *(s.requested_by for s in run.steps),
                            *(view.approvals if view else ()),
                            *([record.custom_ack_by] if record and record.custom_ack_by else []),
                            requester.user,
                        ]
                    )
                ),
            )

        report = await engine.guarded(run, step, requester, work)
        if report is None:
            return
        summary = f"run {report.state}; {counted(len(report.left_to_do), 'thing')} left to do"
        if not await engine.db(self._closing.close, step.id, report, summary):
            return  # stopped meanwhile: the step is interrupted and the run stays open
        run = await engine.refresh(run)
        done = await engine.db(ctx.store.run_step, step.id)
        engine.ended(done, {"things_left_to_do": len(report.left_to_do)})
        await engine.tell(ctx.notifier.run_closed(run, done, report))
        await engine.show(run)

    async def _custom(
        self, run_id: int, tags: Sequence[str], workloads: Mapping[str, Sequence[str]]
    ) -> CustomCheck:
        """The preflight's custom tags after the restore: pulled, not back, or waived."""
        engine = self._ctx.engine
        images = await engine.db(self._exports.custom_images, run_id)
        pushes = await engine.db(self._pushes.latest, run_id) or ()
        return check_custom(tags, images, {p.tag: (p.pulled, p.problem) for p in pushes}, workloads)

    async def _approved_snapshot(
        self, run: RunView, snapshot_id: int | None, newest: int
    ) -> SnapshotView | None:
        """The inventory the purge was approved on, or the run's newest one before this close."""
        engine = self._ctx.engine
        if snapshot_id is not None:
            return await engine.db(self._closing.snapshot, snapshot_id)
        return await engine.db(self._ctx.store.latest_inventory, before_id=newest, run_id=run.id)

    async def _bucket(self, purged: PurgeResult | None) -> Bucket:
        """The bucket's size before the purge (as it measured) and now (measured again in the MinIO pod)."""
        settings = self._ctx.settings
        measured: tuple[int, int] | None = None
        try:
            with self._ctx.kube_client() as kube:
                pod = await minio_pod(kube, minio_target(settings))
                name = str(pod["metadata"]["name"])
                versioned = purged.versioned if purged else False
                measured = await bucket_usage(kube, minio_target(settings), name, versioned=versioned)
        except ActionError:
            measured = None
        return Bucket(
            settings.minio_bucket,
            purged.bytes_before if purged else None,
            purged.objects_before if purged else None,
            measured[0] if measured else None,
            measured[1] if measured else None,
        )


def _verified_all(verification: Verification | None) -> bool:
    return verification is not None and verification.scope == "all" and verification.passed


def _refusal(run: RunView | None) -> str | None:
    """Why the run cannot be closed now, or None."""
    if run is None:
        return "There is no active run to close."
    running = [s.name for s in run.steps if s.state is StepState.RUNNING]
    if running:
        return f"The {', '.join(running)} step of run #{run.id} is running. Close the run once it finished."
    purge, core = run.latest(StepName.PURGE), run.latest(StepName.RESTORE_CORE)
    if purge is not None and (core is None or core.state is not StepState.SUCCEEDED):
        return (
            f"Run #{run.id} started a purge ({purge.state.value}), and its core images are not restored yet: "
            "the bucket may be empty and the platform unable to pull. Restore first (`/regclean restore core`, "
            "or `--override` by an approver after an interrupted purge), then close the run."
        )
    return None
