"""Restore core and plugin images, and prove that images pull (issue 5, design §5).

"The script printed no error" is not success here: after each restore, the images are pulled
in full (manifests, config and every layer, digests checked). Passwords go to the vendor
scripts as the runbook passes them, and every line shown or stored is masked first.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable

from actions.errors import ActionError
from actions.plugin_dir import list_packages
from actions.pull_check import check_pulls
from actions.restore import RestoreOutcome, run_upload, violet_push
from bot.config.targets import plugin_dir, registry_target
from bot.core.model import RunView, StepState, StepView
from bot.core.notifier import Requester
from bot.steps.backup.plan import installer_target
from bot.steps.restore.model import ImageCheck, PackagePush, PluginRestore, Verification
from bot.steps.restore.progress import Progress, credentials, present, raise_unless_done, unique
from bot.steps.restore.records import RestoreRecords
from bot.steps.schedule.step import ScheduleSteps


class RestoreSteps(ScheduleSteps):
    """`/regclean restore core|plugins` and `/regclean verify`."""

    @functools.cached_property
    def _restores(self) -> RestoreRecords:
        return RestoreRecords(self._store.db)

    def start_restore_core(
        self, requester: Requester, *, override: bool = False, may_override: bool = False
    ) -> None:
        """`upload.sh all`, then `necessary`; then the core's images are pulled."""

        async def body(run: RunView, step: StepView, who: Requester) -> None:
            await self._restore_core(run, step, who)

        self._spawn(self._gated(requester, override, may_override, body))

    def start_restore_plugins(self, requester: Requester, *, retry_failed: bool = False) -> None:
        """`violet push` of every package (or of those that failed last time); then every image is pulled."""

        async def body(run: RunView, step: StepView, who: Requester) -> None:
            await self._restore_plugins(run, step, who, retry_failed)

        self._spawn(self._after_core(requester, body))

    def start_verify(self, requester: Requester) -> None:
        """Pull the probe images and every workload image recorded at preflight."""
        self._spawn(self._requested(requester, "verify", lambda r, s, w: self._verify(r, s, w, "all")))

    # ---------------------------------------------------------------------
    async def _after_core(
        self, requester: Requester, body: Callable[[RunView, StepView, Requester], Awaitable[None]]
    ) -> None:
        """Plugins go into a registry the core restore already went into (so it passed the same gate)."""
        run = await self._db(self._store.active_run)
        core = run.latest("restore_core") if run is not None else None
        if core is None or core.state != StepState.SUCCEEDED:
            await self._call(
                self._notifier.request_refused(
                    requester, "Restore the core images first: `/regclean restore core` (runbook step 5)."
                )
            )
            return
        await self._requested(requester, "restore_plugins", body)

    async def _gated(
        self,
        requester: Requester,
        override: bool,
        may_override: bool,
        body: Callable[[RunView, StepView, Requester], Awaitable[None]],
    ) -> None:
        """Restoring is allowed only after a purge that emptied the bucket and restarted the registry."""
        run = await self._db(self._store.active_run)
        purged = await self._db(self._records.latest_purge, run.id) if run is not None else None
        ready = purged is not None and purged[0].empty and purged[0].registry_ready
        if not ready and not override:
            await self._call(
                self._notifier.request_refused(
                    requester,
                    "Restoring needs a purge that emptied the bucket and restarted the registry pods "
                    "(a stale blob cache would make a re-push leave images that cannot be pulled). "
                    "If you know the registry is in a fit state, an approver can override: "
                    "`/regclean restore core --override`.",
                ),
            )
            return
        if override and not ready:
            if not may_override:
                await self._call(
                    self._notifier.request_refused(
                        requester, "Only an approver may override the restore's gate."
                    )
                )
                return
            if run is not None:
                await self._db(
                    self._records.audit, requester.user, "restore.override", run.id, {"purged": bool(purged)}
                )
        await self._requested(requester, "restore_core", body)

    async def _restore_core(self, run: RunView, step: StepView, requester: Requester) -> None:
        settings = self._need_settings()
        await self._warn_if_outlasting(run.id, requester.user)

        async def work() -> int:
            registry, user, password = credentials(settings)
            target = await installer_target(settings, self._kube)
            lines = 0
            for mode in ("all", "necessary"):
                report = Progress(
                    lambda text: self._call(self._notifier.step_progress(run, step, text)),
                    f"upload.sh {mode}",
                    lambda title, lines: self._call(self._notifier.step_output(run, step, title, lines)),
                )
                outcome = await run_upload(
                    target, settings.installer_dir, mode, registry.address, user, password, report.line
                )
                await report.done()
                lines += outcome.lines
                raise_unless_done(outcome, f"upload.sh {mode}")
            return lines

        done = await self._guarded(run, step, requester, work)
        if done is None:
            return
        await self._db(
            self._store.finish_step,
            step.id,
            StepState.SUCCEEDED,
            summary=f"upload.sh all and necessary exited 0 ({done:,} lines)",
        )
        await self._show(await self._refresh(run))
        await self._requested(requester, "verify", lambda r, s, w: self._verify(r, s, w, "core"))

    async def _restore_plugins(
        self, run: RunView, step: StepView, requester: Requester, retry_failed: bool
    ) -> None:
        settings = self._need_settings()
        previous = await self._db(self._restores.latest_plugins, run.id)

        async def work() -> PluginRestore:
            settings.require("platform_url", "platform_username", "platform_password")
            assert settings.platform_url and settings.platform_username and settings.platform_password
            password = settings.platform_password.get_secret_value()
            target = await installer_target(settings, self._kube)
            directory = plugin_dir(settings)
            packages = list(await list_packages(target, directory))
            if retry_failed:
                failed = {p.package for p in previous.failed} if previous else set()
                packages = [p for p in packages if p in failed]
                if not packages:
                    raise ActionError(
                        "No package failed in the last plugin restore; there is nothing to retry."
                    )
            bound = asyncio.Semaphore(settings.violet_concurrency)
            done = 0

            async def push(package: str) -> PackagePush:
                nonlocal done
                async with bound:
                    report = Progress(
                        lambda t: self._call(self._notifier.step_progress(run, step, t)), package
                    )
                    try:
                        outcome = await violet_push(
                            target,
                            f"{directory.rstrip('/')}/{package}",
                            settings.platform_url or "",
                            settings.platform_username or "",
                            password,
                            report.line,
                        )
                    except ActionError as exc:  # this package's connection; the others go on
                        outcome = RestoreOutcome(None, (str(exc),), 0)
                    done += 1
                    await self._call(
                        self._notifier.step_progress(run, step, f"{done} of {len(packages)} packages pushed")
                    )
                    return PackagePush(package, outcome.succeeded, outcome.exit_status, outcome.tail)

            pushes = list(await asyncio.gather(*(push(p) for p in packages)))
            if retry_failed and previous is not None:
                retried = {p.package: p for p in pushes}
                pushes = [retried.get(p.package, p) for p in previous.pushes]
            return PluginRestore(tuple(pushes))

        restore = await self._guarded(run, step, requester, work)
        if restore is None:
            return
        await self._db(self._restores.save_plugins, run.id, step.id, restore)
        failed = restore.failed
        summary = f"{len(restore.pushes) - len(failed)} of {len(restore.pushes)} packages pushed"
        if failed:
            names = ", ".join(p.package for p in failed)
            done = await self._db(
                self._store.finish_step,
                step.id,
                StepState.FAILED,
                summary=summary,
                error=f"{summary}. Failed: {names}. Push them again with `/regclean restore plugins --retry-failed`.",
            )
        else:
            done = await self._db(self._store.finish_step, step.id, StepState.SUCCEEDED, summary=summary)
        run = await self._refresh(run)
        await self._call(self._notifier.plugins_restored(run, done, restore))
        if failed:
            await self._call(self._notifier.step_failed(run, done, requester))
        await self._show(run)
        await self._requested(requester, "verify", lambda r, s, w: self._verify(r, s, w, "all"))

    async def _verify(self, run: RunView, step: StepView, requester: Requester, scope: str) -> None:
        settings = self._need_settings()
        record = await self._db(self._records.latest_preflight, run.id)

        async def work() -> Verification:
            target = registry_target(settings)
            workloads = list(record.workload_images) if record is not None else []
            if scope == "core":
                workloads = await present(target, workloads)
            images = unique([*settings.probe_images, *workloads])
            checked = 0

            async def counted(_: object) -> None:
                nonlocal checked
                checked += 1
                await self._call(
                    self._notifier.step_progress(run, step, f"{checked} of {len(images)} images pulled")
                )

            results = await check_pulls(
                target, images, concurrency=settings.verify_concurrency, on_result=counted
            )
            return Verification(scope, tuple(ImageCheck(r.image, r.pullable, r.problem) for r in results))

        verification = await self._guarded(run, step, requester, work)
        if verification is None:
            return
        await self._db(self._restores.save_verification, run.id, step.id, verification)
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
        done = await self._db(self._store.finish_step, step.id, state, summary=summary, error=error)
        run = await self._refresh(run)
        await self._call(self._notifier.verification_finished(run, done, verification))
        if not verification.passed:
            await self._call(self._notifier.step_failed(run, done, requester))
        await self._show(run)
        if verification.passed and scope == "all":
            await self._verified_all(run, requester)

    async def _verified_all(self, run: RunView, requester: Requester) -> None:
        """What follows a pull check of every recorded image that passed (the close of the run)."""
