"""Close the run (issue 5): record the inventory again, read the catalog again, and report.

The run closes on its own once a pull check of every recorded image passes after the plugin
restore; `/regclean close` closes it by hand (as failed, when something is missing). The run is
`succeeded` only when that pull check passed and nothing that workloads use is missing.
"""

from __future__ import annotations

import functools
from datetime import datetime

from actions.errors import ActionError
from actions.inventory import Inventory, InventoryProgress, InventoryRequest, record_inventory
from actions.minio import PurgeResult, bucket_usage, minio_pod
from actions.registry import RegistryClient
from actions.slices import in_slices
from bot.config.targets import minio_target, registry_target
from bot.core.model import RunView, SnapshotView, StepState, StepView
from bot.core.notifier import Requester
from bot.scheduler import Scheduled
from bot.steps.close.judge import check_inventory, compare_catalog, left_to_do, step_times
from bot.steps.close.records import CloseRecords
from bot.steps.close.report import Bucket, FinalReport
from bot.steps.inventory.codec import inventory_lines
from bot.steps.inventory.diff import diff_inventories
from bot.steps.restore.model import Verification
from bot.steps.restore.step import RestoreSteps


class CloseSteps(RestoreSteps):
    """`/regclean close`, and the close that follows a pull check of everything that passed."""

    _page_size: int = 500
    """operatorviews and modulepluginviews read per request"""

    @functools.cached_property
    def _closing(self) -> CloseRecords:
        return CloseRecords(self._store.db)

    def start_close(self, requester: Requester) -> None:
        """Close the active run with its final report."""
        self._spawn(self._close_requested(requester))

    async def overview(self) -> tuple[RunView | None, list[Scheduled], tuple[int, str, datetime] | None]:
        """`/regclean status`: the active run, what is scheduled, and the newest run that ended (its id,
        state and when), read in one worker thread so that the acknowledgement stays fast."""

        def read() -> tuple[RunView | None, list[Scheduled], tuple[int, str, datetime] | None]:
            return self._store.active_run(), self._live_jobs(), self._closing.last_closed()

        return await self._db(read)

    async def _verified_all(self, run: RunView, requester: Requester) -> None:
        """A pull check of every recorded image passed: after the plugin restore, the run is done."""
        plugins = run.latest("restore_plugins")
        if plugins is not None and plugins.state is StepState.SUCCEEDED:
            await self._requested(requester, "close", self._close)

    async def _close_requested(self, requester: Requester) -> None:
        run = await self._db(self._store.active_run)
        refusal = _refusal(run)
        if refusal is not None:
            await self._call(self._notifier.request_refused(requester, refusal))
            return
        await self._requested(requester, "close", self._close)

    async def _read_inventory(self, run: RunView, step: StepView) -> Inventory:
        """Both inventories, read from the cluster with progress on the checklist."""

        async def progress(p: InventoryProgress) -> None:
            text = f"{p.operators_seen:,} operatorviews and {p.plugins_seen:,} modulepluginviews read"
            await self._call(self._notifier.step_progress(run, step, text))

        kube = self._kube()
        try:
            return await record_inventory(kube, InventoryRequest(page_size=self._page_size), progress)
        finally:
            close = getattr(kube, "close", None)
            if callable(close):
                close()

    async def _close(self, run: RunView, step: StepView, requester: Requester) -> None:
        settings = self._need_settings()

        async def say(text: str) -> None:
            await self._call(self._notifier.step_progress(run, step, text))

        async def work() -> FinalReport:
            after = await self._read_inventory(run, step)
            data = "\n".join(await in_slices(inventory_lines(after)))
            saved = await self._db(
                self._store.save_inventory, run.id, step.id, requester.user, self._clock.now(), data
            )
            request_id = await self._db(self._closing.purge_request, run.id)
            view = await self._db(self._approvals.get, request_id) if request_id is not None else None
            before = await self._approved_snapshot(run, view.plan if view else None, saved.id)
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
            record = await self._db(self._records.latest_preflight, run.id)
            catalog = compare_catalog(
                record.repositories if record else {},
                now.repositories,
                registry=target.address,
                workload_images=record.workload_images if record else (),
                custom=record.custom if record else (),
            )
            await say(f"measuring the bucket {settings.minio_bucket}")
            purged = await self._db(self._records.latest_purge, run.id)
            # A purge that was cut off or failed may still have emptied the bucket: it counts.
            purged_ok = run.latest("purge") is not None
            bucket = await self._bucket(purged[0] if purged else None)
            verification = await self._db(self._restores.latest_verification, run.id)
            plugins = await self._db(self._restores.latest_plugins, run.id)
            backups = await self._db(self._store.latest_backups, run.id)
            failed_packages = [p.package for p in plugins.failed] if plugins else []
            verified_all = _verified_all(verification)
            todo = left_to_do(
                run,
                catalog=catalog,
                inventory=inventory,
                failed_images=[c.image for c in verification.failed] if verification else [],
                verified_all=verified_all,
                failed_packages=failed_packages,
                archives=[f"{b.address}:{b.archive}" for b in backups if b.verified],
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
                succeeded=purged_ok and verified_all and not catalog.missing,
                purged=purged_ok,
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

        report = await self._guarded(run, step, requester, work)
        if report is None:
            return
        summary = f"run {report.state}; {len(report.left_to_do)} things left to do"
        if not await self._db(self._closing.close, step.id, report, summary):
            return  # stopped meanwhile: the step is interrupted and the run stays open
        run = await self._refresh(run)
        done = await self._db(self._store.run_step, step.id)
        await self._call(self._notifier.run_closed(run, done, report))
        await self._show(run)

    async def _approved_snapshot(
        self, run: RunView, plan: dict[str, object] | None, newest: int
    ) -> SnapshotView | None:
        """The inventory the purge was approved on, or the run's newest one before this close."""
        inventory = plan.get("inventory") if plan else None
        snapshot_id = inventory.get("snapshot") if isinstance(inventory, dict) else None
        if isinstance(snapshot_id, int):
            return await self._db(self._closing.snapshot, snapshot_id)
        return await self._db(self._store.latest_inventory, before_id=newest, run_id=run.id)

    async def _bucket(self, purged: PurgeResult | None) -> Bucket:
        """The bucket's size before the purge (as it measured) and now (measured again in the MinIO pod)."""
        settings = self._need_settings()
        measured: tuple[int, int] | None = None
        try:
            with self._kube_client() as kube:
                pod = await minio_pod(kube, minio_target(settings))
                measured = await bucket_usage(kube, minio_target(settings), str(pod["metadata"]["name"]))
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
    purge, core = run.latest("purge"), run.latest("restore_core")
    if purge is not None and (core is None or core.state is not StepState.SUCCEEDED):
        return (
            f"Run #{run.id} started a purge ({purge.state.value}), and its core images are not restored yet: "
            "the bucket may be empty and the platform unable to pull. Restore first (`/regclean restore core`, "
            "or `--override` by an approver after an interrupted purge), then close the run."
        )
    return None
