"""Runbook step 5: restore the core images with `upload.sh`, then every plugin package with `violet push`.

Passwords go to the vendor scripts as the runbook passes them, and every line shown or stored is
masked first. What follows a restore (its pull check) is wired in `bot/runbook.py`.
"""

from __future__ import annotations

import asyncio
import dataclasses

from actions.errors import ActionError
from actions.output_log import OutputLog, step_output_path
from actions.plugin_dir import list_packages
from actions.restore import RestoreOutcome, run_upload, violet_push
from actions.ssh import SshTarget
from bot.config.targets import plugin_dir
from bot.core.model import RunView, StepName, StepState, StepView
from bot.core.notifier import Requester
from bot.steps.backup.plan import installer_target
from bot.steps.context import StepContext
from bot.steps.purge.records import PurgeRecords
from bot.steps.restore.model import PackagePush, PluginRestore
from bot.steps.restore.progress import Progress, credentials, platform_login, raise_unless_done
from bot.steps.restore.records import RestoreRecords
from bot.steps.schedule.step import ScheduleStep

_GATE = (
    "Restoring needs a purge that emptied the bucket and restarted the registry pods "
    "(a stale blob cache would make a re-push leave images that cannot be pulled). "
    "If you know the registry is in a fit state, an approver can override: "
    "`/regclean restore core --override`."
)


async def _installer(ctx: StepContext) -> SshTarget:
    """The installer node, with the restore's own time limit for each script (REGCLEAN_RESTORE_TIMEOUT)."""
    target = await installer_target(ctx.settings, ctx.kube)
    return dataclasses.replace(
        target,
        command_timeout=ctx.settings.restore_timeout.total_seconds(),
        timeout_setting="REGCLEAN_RESTORE_TIMEOUT",
    )


class RestoreStep:
    """`/regclean restore core [--override]` and `/regclean restore plugins [--retry-failed]`."""

    def __init__(self, ctx: StepContext, schedule: ScheduleStep) -> None:
        self._ctx = ctx
        self._schedule = schedule
        self._purges = PurgeRecords(ctx.db)
        self._restores = RestoreRecords(ctx.db)

    async def core(self, requester: Requester, *, override: bool = False, may_override: bool = False) -> bool:
        """`upload.sh all`, then `necessary`; True when both exited 0.

        Allowed only after a purge that emptied the bucket and restarted the registry, or when an
        approver overrides (audited)."""
        ctx, engine = self._ctx, self._ctx.engine
        run = await engine.db(ctx.store.active_run)
        purged = await engine.db(self._purges.latest, run.id) if run is not None else None
        ready = purged is not None and purged[0].empty and purged[0].registry_ready
        if not ready and not override:
            await engine.refuse(requester, _GATE)
            return False
        if override and not ready:
            if not may_override:
                await engine.refuse(requester, "Only an approver may override the restore's gate.")
                return False
            if run is not None:
                await engine.db(
                    ctx.store.audit, requester.user, "restore.override", run.id, {"purged": bool(purged)}
                )
        return bool(await engine.requested(requester, StepName.RESTORE_CORE, self._core))

    async def plugins(self, requester: Requester, *, retry_failed: bool = False) -> PluginRestore | None:
        """`violet push` of every package (or of those that failed last time); None when it did not run.

        Plugins go into a registry the core restore already went into (so it passed the same gate)."""
        ctx, engine = self._ctx, self._ctx.engine
        run = await engine.db(ctx.store.active_run)
        core = run.latest(StepName.RESTORE_CORE) if run is not None else None
        if core is None or core.state != StepState.SUCCEEDED:
            await engine.refuse(
                requester, "Restore the core images first: `/regclean restore core` (runbook step 5)."
            )
            return None

        async def body(run: RunView, step: StepView, who: Requester) -> PluginRestore | None:
            return await self._plugins(run, step, who, retry_failed)

        return await engine.requested(requester, StepName.RESTORE_PLUGINS, body)

    async def _core(self, run: RunView, step: StepView, requester: Requester) -> bool:
        ctx, engine = self._ctx, self._ctx.engine
        settings = ctx.settings
        await self._schedule.warn_if_outlasting(run.id, requester.user)

        async def work() -> int:
            registry, user, password = credentials(settings)
            target = await _installer(ctx)
            lines = 0
            with self._output(run, step) as kept:
                for mode in ("all", "necessary"):
                    what = f"upload.sh {mode}"
                    report = Progress(
                        lambda text: engine.tell(ctx.notifier.step_progress(run, step, text)),
                        what,
                        lambda title, lines: engine.tell(ctx.notifier.step_output(run, step, title, lines)),
                    )
                    outcome = await run_upload(
                        target,
                        settings.installer_dir,
                        mode,
                        registry.address,
                        user,
                        password,
                        kept.sink(what, report.line),
                    )
                    kept.write(what, _ended(outcome))
                    await report.done()
                    lines += outcome.lines
                    raise_unless_done(outcome, what)
            return lines

        done = await engine.guarded(run, step, requester, work)
        if done is None:
            return False
        await engine.finish(
            step,
            StepState.SUCCEEDED,
            summary=f"upload.sh all and necessary exited 0 ({done:,} lines)",
            counts={"output_lines": done},
        )
        await engine.show(await engine.refresh(run))
        return True

    def _output(self, run: RunView, step: StepView) -> OutputLog:
        """The file that keeps this step's whole output (Slack shows the last lines)."""
        return OutputLog(step_output_path(self._ctx.settings.data_dir, run.id, step.name, step.id))

    async def _plugins(
        self, run: RunView, step: StepView, requester: Requester, retry_failed: bool
    ) -> PluginRestore | None:
        ctx, engine = self._ctx, self._ctx.engine
        settings = ctx.settings
        previous = await engine.db(self._restores.latest_plugins, run.id)

        async def work() -> PluginRestore:
            login = platform_login(settings)
            target = await _installer(ctx)
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
                        lambda t: engine.tell(ctx.notifier.step_progress(run, step, t)), package
                    )
                    try:
                        outcome = await violet_push(
                            target,
                            f"{directory.rstrip('/')}/{package}",
                            login.url,
                            login.username,
                            login.password,
                            kept.sink(package, report.line),
                            token=login.token,
                        )
                    except ActionError as exc:  # this package's connection; the others go on
                        outcome = RestoreOutcome(None, (str(exc),), 0)
                    kept.write(package, _ended(outcome))
                    done += 1
                    await engine.tell(
                        ctx.notifier.step_progress(run, step, f"{done} of {len(packages)} packages pushed")
                    )
                    return PackagePush(package, outcome.succeeded, outcome.exit_status, outcome.tail)

            with self._output(run, step) as kept:
                pushes = list(await asyncio.gather(*(push(p) for p in packages)))
            if retry_failed and previous is not None:
                retried = {p.package: p for p in pushes}
                pushes = [retried.get(p.package, p) for p in previous.pushes]
            return PluginRestore(tuple(pushes))

        restore = await engine.guarded(run, step, requester, work)
        if restore is None:
            return None
        await engine.db(self._restores.save_plugins, run.id, step.id, restore)
        failed = restore.failed
        summary = f"{len(restore.pushes) - len(failed)} of {len(restore.pushes)} packages pushed"
        names = ", ".join(p.package for p in failed)
        error = (
            f"{summary}. Failed: {names}. Push them again with `/regclean restore plugins --retry-failed`."
            if failed
            else None
        )
        counts = {"packages_pushed": len(restore.pushes) - len(failed), "packages_failed": len(failed)}
        await engine.conclude(
            run,
            step,
            requester,
            summary,
            error,
            lambda r, s: ctx.notifier.plugins_restored(r, s, restore),
            counts,
        )
        return restore


def _ended(outcome: RestoreOutcome) -> str:
    """The line that closes a command's output in the file."""
    if outcome.succeeded:
        return f"regclean: exited 0 after {outcome.lines:,} lines"
    return f"regclean: {outcome.problem or (outcome.tail[-1] if outcome.tail else 'failed')}"
