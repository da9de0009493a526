"""Restart drills: `regclean serve` as a real process, killed (SIGKILL) or stopped (SIGTERM) mid-step.

The golden path runs from the simulated Slack, and the bot is killed while each step runs in
turn, and once while a purge request waits for its second approval. After each restart the
database (read here with plain SQL, not through regclean) and the workspace must show what a
person needs: nothing still `running`; nothing `succeeded` without what that step leaves behind;
the cut-off step `interrupted`, with advice in the run's thread and to whoever asked; the jobs
still scheduled; and no step that the bot started on its own. Then the drill goes on as a person
would, asking for the step again.

A step is held at a known point while the bot is killed, so that the kill never races the step's
end: the simulated Kubernetes API answers slowly (inventory, backup, preflight, purge, close), or
the registry is stopped with SIGSTOP (the restores and the pull check).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.core.model import RUNBOOK
from sandbox.bot_process import BotProcess, bot_process
from sandbox.freeze import frozen
from sandbox.kube import KubeApiServer
from sandbox.platform import settle_missing_csvs
from sandbox.slack import SlackWorkspace
from sandbox.stack import Sandbox
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.scenarios.conftest import root, text_of
from tests.scenarios.flow import approve, exported, in_thread, preflight, request_message

pytestmark = [pytest.mark.e2e, pytest.mark.lean, *NEEDS_REGISTRY_AND_SKOPEO]

LATENCY = 1.0
"""Seconds each simulated Kubernetes API request takes while a step is to be cut off."""
INTERRUPTED = "regclean stopped while this step was running."
TITLES: dict[str, str] = {step.name: step.title for step in RUNBOOK}
RUNNING, DONE, FAILED, CUT = "⏳", "✅", "❌", "⚠️"


@dataclass(frozen=True)
class Step:
    """One step attempt, as the `steps` table holds it."""

    id: int
    name: str
    state: str
    requested_by: str
    finished: bool
    summary: str | None
    error: str | None


@dataclass(frozen=True)
class Snapshot:
    """The steps and the scheduler's jobs at one moment."""

    steps: tuple[Step, ...]
    jobs: frozenset[str]

    def running(self) -> list[Step]:
        return [s for s in self.steps if s.state == "running"]


#: what a succeeded step leaves behind, by step: a verified archive from each of the sandbox's three
#: control-plane nodes, the close's report with the run's end (one transaction), and so on
EVIDENCE = {
    "inventory": "SELECT count(*) FROM inventories WHERE step_id = ?",
    "backup": "SELECT count(*) = 3 FROM backups WHERE step_id = ? AND verified",
    "preflight": "SELECT count(*) FROM preflights WHERE step_id = ?",
    "export": "SELECT count(*) = 2 FROM image_exports WHERE step_id = ? AND verified_at IS NOT NULL",
    "purge": "SELECT count(*) FROM purges WHERE step_id = ?",
    "restore_core": "SELECT summary LIKE 'upload.sh all and necessary exited 0%' FROM steps WHERE id = ?",
    "restore_plugins": "SELECT count(*) FROM step_results WHERE step_id = ? AND kind = 'plugins'",
    "restore_custom": "SELECT count(*) FROM step_results WHERE step_id = ? AND kind = 'custom'",
    "verify": "SELECT count(*) FROM step_results WHERE step_id = ? AND kind = 'verification'",
    "close": "SELECT count(*) FROM step_results r JOIN runs ON runs.id = r.run_id "
    "WHERE r.step_id = ? AND r.kind = 'report' AND runs.state != 'active'",
}


class Database:
    """The bot's SQLite database, read with SQL, one short connection per look."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, sql: str, *args: object) -> list[tuple[Any, ...]]:
        with contextlib.closing(sqlite3.connect(self.path, timeout=10)) as db:
            return db.execute(sql, args).fetchall()

    def snapshot(self) -> Snapshot:
        rows = self.query(
            "SELECT id, name, state, requested_by, finished_at IS NOT NULL, summary, error FROM steps ORDER BY id"
        )
        jobs = frozenset(job for (job,) in self.query("SELECT id FROM scheduled_jobs"))
        return Snapshot(tuple(Step(*row) for row in rows), jobs)

    def audited(self, action: str) -> int:
        [(count,)] = self.query("SELECT count(*) FROM audit WHERE action = ?", action)
        return int(count)

    def assert_consistent(self) -> None:
        """Nothing running, and no step reported as done that did not finish."""
        snapshot = self.snapshot()
        assert not snapshot.running(), snapshot.running()
        for step in snapshot.steps:
            if step.state == "succeeded":
                [(left,)] = self.query(EVIDENCE[step.name], step.id)
                assert step.finished and left, f"{step} succeeded, but left nothing behind"
            if step.state == "interrupted":
                assert (step.error or "").startswith(INTERRUPTED), step
        assert self.audited("purge.started") <= 1, "at most one purge"


def checklist_line(ws: SlackWorkspace, name: str) -> str | None:
    """The line of the run's checklist for this step."""
    top = root(ws)
    lines = text_of(top).splitlines() if top is not None else []
    return next((line for line in lines if f"*{TITLES[name]}*" in line), None)


def shows(ws: SlackWorkspace, name: str, icon: str, text: str = "") -> bool:
    line = checklist_line(ws, name)
    return line is not None and line.startswith(icon) and text in line


def told(ws: SlackWorkspace, step: Step, advice: str) -> list[str]:
    """Where the step's interruption was said, with the advice: its thread messages, and the requester's
    ephemerals."""
    said = f"*{step.name}* was interrupted: {INTERRUPTED}"
    top = root(ws)
    thread = [text_of(m) for m in ws.thread(top.ts)] if top is not None else []
    posts = [t for t in thread if said in t and advice in t and f"<@{step.requested_by}>" in t]
    private = [
        e.text
        for e in ws.ephemerals
        if e.user == step.requested_by and f"{step.name} was interrupted: {INTERRUPTED}" in e.text
    ]
    return posts + private


@contextlib.contextmanager
def slowed(kube: KubeApiServer) -> Iterator[None]:
    """Every simulated Kubernetes API request takes LATENCY seconds, for the block."""
    kube.set_latency(LATENCY)
    try:
        yield
    finally:
        kube.set_latency(0)


class Drill:
    """Kills the bot while a step runs, starts it again, and checks what the new process made of it."""

    def __init__(self, bot: BotProcess, sandbox: Sandbox) -> None:
        self.bot, self.ws = bot, sandbox.slack
        self.db = Database(sandbox.workdir / "regclean.db")
        self.kills = 0

    async def kill(self) -> Snapshot:
        assert await self.bot.kill() == -signal.SIGKILL
        self.kills += 1
        return self.db.snapshot()

    async def kill_during(self, name: str, *, showing: str = "") -> Snapshot:
        """Once the checklist shows the step running (with `showing` in its line), SIGKILL the bot."""
        await self.ws.wait_for(lambda w: shows(w, name, RUNNING, showing), timeout=60)
        before = await self.kill()
        assert [s.name for s in before.running()] == [name], before.running()
        return before

    async def restart(self, before: Snapshot) -> Snapshot:
        """Start the bot again: every step and job is still there, and it started nothing by itself."""
        await self.bot.restart()  # healthy only once it has recovered
        after = self.db.snapshot()
        cut = {s.id for s in before.running()}
        assert [s.id for s in after.steps] == [s.id for s in before.steps], "no step started on its own"
        assert [s for s in after.steps if s.id not in cut] == [s for s in before.steps if s.id not in cut]
        # Jobs still scheduled (a cut-off step's overrun check may go: the step no longer runs).
        assert after.jobs >= before.jobs - {f"step-overdue-{i}" for i in cut}, before.jobs - after.jobs
        self.db.assert_consistent()
        roots = [
            m for m in self.ws.messages if m.thread_ts is None and "Registry cleanup — run #" in text_of(m)
        ]
        assert len(roots) == 1, "the run's checklist is updated in place, not posted again"
        return after

    async def restart_after(self, before: Snapshot, *, advice: str) -> None:
        """Restart after a kill during a step: it is interrupted, and a person is told what to check."""
        after = await self.restart(before)
        [running] = before.running()
        [step] = [s for s in after.steps if s.id == running.id]
        assert step.state == "interrupted" and advice in (step.error or ""), step
        # Said before the new process listens: in the run's thread, mentioning whoever asked, and to them.
        assert len(told(self.ws, step, advice)) == 2, self.ws.transcript()
        await self.ws.wait_for(lambda w: shows(w, step.name, CUT), timeout=10)

    async def ask(self, user: str, command: str, name: str, icon: str = DONE, timeout: float = 60) -> None:  # noqa: ASYNC109
        """A slash command, and the checklist showing the step ended so."""
        await self.bot.driver.slash(user, command)
        await self.ws.wait_for(lambda w: shows(w, name, icon), timeout=timeout)


async def restart_registry_pods(sandbox: Sandbox) -> None:
    """Delete the registry pods through the API, as `kubectl delete pod -l …` does: their replacements
    come with a restarted registry, whose blob cache is empty."""
    pods = [p["metadata"] for p in sandbox.kube.objects("pods") if sandbox.registry_pods.matches(p)]
    assert pods
    policy = sandbox.kube.policy  # the sandbox authenticates callers; this one has the delete Role
    headers = {"Authorization": f"Bearer {policy.token}"} if policy else {}
    async with aiohttp.ClientSession(headers=headers) as http:
        for pod in pods:
            url = f"{sandbox.kube.url}/api/v1/namespaces/{pod['namespace']}/pods/{pod['name']}"
            async with http.delete(url) as response:
                assert response.status == 200, await response.text()
    await sandbox.registry_pods.wait_idle()
    assert sandbox.registry_pods.restarts >= 1


@pytest.mark.timeout(300)  # nine starts of `regclean serve` (~5 s each here), beside another xdist worker
async def test_killed_during_every_step_the_bot_recovers_and_never_starts_a_step_on_its_own(
    sandbox: Sandbox,
) -> None:
    ws, kube = sandbox.slack, sandbox.kube
    # The sample's operator without an installed CSV is settled first, so the package gate holds.
    assert settle_missing_csvs(kube) == ["global/tektoncd-operator"]
    async with bot_process(sandbox) as bot:
        drill = Drill(bot, sandbox)
        db = drill.db

        # Kill points 1–3: inventory, backup and preflight, each while the cluster answers slowly.
        # The inventory's first progress comes after the run's root message is stored, so the new
        # process updates that message instead of posting another.
        with slowed(kube):
            await bot.driver.slash("UALICE", "inventory")
            cut = await drill.kill_during("inventory", showing="operatorviews")
        await drill.restart_after(cut, advice="Record it again with `/regclean inventory`")
        await drill.ask("UALICE", "inventory", "inventory")

        with slowed(kube):
            await bot.driver.slash("UALICE", "backup")
            cut = await drill.kill_during("backup")
        await drill.restart_after(cut, advice="Run `/regclean backup` again")
        await drill.ask("UALICE", "backup", "backup")

        with slowed(kube):
            await bot.driver.slash("UALICE", "preflight")
            cut = await drill.kill_during("preflight")
        await drill.restart_after(cut, advice="Run `/regclean preflight` again")
        await exported(bot, ws, await preflight(bot, ws))

        # Kill point 4: the purge request is open, with one approval of two. No step runs.
        await bot.driver.slash("UALICE", "purge")
        request = await ws.wait_for(request_message, timeout=30)
        # The click is acknowledged once the approval is counted and the request's message is stored.
        await approve(bot, "UBOB", request)
        await ws.wait_for(lambda w: "1 of 2 approved" in text_of(request))
        before = await drill.kill()
        [(request_id, state)] = db.query("SELECT id, state FROM approval_requests")
        assert state == "open" and f"expire-request-{request_id}" in before.jobs
        after = await drill.restart(before)
        assert after.steps == before.steps and f"expire-request-{request_id}" in after.jobs
        assert db.query("SELECT state FROM approval_requests") == [("open",)]
        assert db.query("SELECT approver FROM approvals") == [("UBOB",)]

        # Kill point 5: the purge. The second approval, given to the new process, starts it; the
        # kill comes once every object is removed and before the registry pods are restarted.
        objects = await asyncio.to_thread(sandbox.s3.object_count)
        with slowed(kube):
            await approve(bot, "UCAROL", request)
            cut = await drill.kill_during("purge", showing=f"{objects:,} objects removed")
        await drill.restart_after(cut, advice="Check the bucket in the MinIO pod")
        assert db.audited("purge.started") == 1 and db.query("SELECT count(*) FROM purges") == [(0,)]
        assert await asyncio.to_thread(sandbox.s3.object_count) == 0
        assert sandbox.registry_pods.restarts == 0, "the blob cache is stale: the restore must wait"

        # What the advice asks for: the bucket is empty, so a person restarts the registry pods. The
        # purge has no record of success, so restoring is refused; by design, an approver who has
        # checked the registry overrides that gate (audited). Nothing restarts the purge.
        await restart_registry_pods(sandbox)
        await bot.driver.slash("UALICE", "restore core")
        await ws.wait_for(
            lambda w: any(e.user == "UALICE" and "Restoring needs a purge" in e.text for e in w.ephemerals)
        )
        # Nor can the run be closed and forgotten while the bucket may be empty.
        await bot.driver.slash("UALICE", "close")
        await ws.wait_for(
            lambda w: any(
                e.user == "UALICE" and "core images are not restored" in e.text for e in w.ephemerals
            )
        )

        # Kill points 6–8: the restores and the pull check, each while the registry is stopped.
        with frozen(sandbox.registry):
            await bot.driver.slash("UBOB", "restore core --override")
            cut = await drill.kill_during("restore_core")
        await drill.restart_after(cut, advice="`upload.sh` may still be running")
        await drill.ask("UBOB", "restore core --override", "restore_core", timeout=90)
        core = await ws.wait_for(lambda w: in_thread(w, "Pull check after the core restore"), timeout=60)
        assert ":white_check_mark: All" in text_of(core)
        await ws.wait_for(lambda w: shows(w, "verify", DONE))

        with frozen(sandbox.registry):
            await bot.driver.slash("UALICE", "restore plugins")
            cut = await drill.kill_during("restore_plugins")
        await drill.restart_after(cut, advice="A `violet push` may still be running")
        # Kill point 8: the custom images pushed back from the run's export, the registry stopped.
        with frozen(sandbox.registry):
            await bot.driver.slash("UALICE", "restore custom")
            cut = await drill.kill_during("restore_custom")
        await drill.restart_after(cut, advice="pushing one again is harmless")

        # Kill point 9: the plugins again, then the custom images from the export, and every image
        # pulls, so the run closes itself; the close is cut off too.
        await bot.driver.slash("UALICE", "restore plugins")
        await ws.wait_for(lambda w: shows(w, "restore_custom", DONE), timeout=120)
        with slowed(kube):
            cut = await drill.kill_during("close")
        await drill.restart_after(cut, advice="Close it again with `/regclean close`")
        assert db.query("SELECT state FROM runs") == [("active",)]
        await bot.driver.slash("UALICE", "close")
        report = await ws.wait_for(lambda w: in_thread(w, "Final report — run #"), timeout=60)

    assert drill.kills == 9
    db.assert_consistent()
    assert [(s.name, s.state) for s in db.snapshot().steps] == [
        ("inventory", "interrupted"),
        ("inventory", "succeeded"),
        ("backup", "interrupted"),
        ("backup", "succeeded"),
        ("preflight", "interrupted"),
        ("preflight", "succeeded"),
        ("export", "succeeded"),
        ("purge", "interrupted"),
        ("restore_core", "interrupted"),
        ("restore_core", "succeeded"),
        ("verify", "succeeded"),  # the core's pull check
        ("restore_plugins", "interrupted"),
        ("restore_custom", "interrupted"),
        ("restore_plugins", "succeeded"),
        ("restore_custom", "succeeded"),  # from the export: nothing of the platform restores them
        ("verify", "succeeded"),
        ("close", "interrupted"),
        ("close", "succeeded"),
    ], "every step was asked for by a person; none was started again by the bot"
    assert db.audited("purge.started") == 1
    assert db.query("SELECT actor FROM audit WHERE action = 'restore.override'") == [("UBOB",), ("UBOB",)]

    # The report tells the run as it went: a purge that two people approved started and emptied
    # the bucket (it was cut off, and finished by hand), so the run was not closed without one.
    said = text_of(report)
    assert "without a purge" not in said and "nothing was deleted" not in said, said
    assert db.query("SELECT state FROM runs") == [("succeeded",)], "every image pulls; nothing is missing"
    assert "approved by* *bob*, *carol*" in said, "named after a restart too (users.info)"
    thanked = said.split("Thank you, ", 1)[1]
    assert all(f"<@{u}>" in thanked for u in ("UALICE", "UBOB", "UCAROL")), "everyone who took part"


async def test_sigterm_marks_the_running_step_interrupted_and_delivers_every_update_before_exit(
    sandbox: Sandbox,
) -> None:
    ws = sandbox.slack
    db = Database(sandbox.workdir / "regclean.db")
    async with bot_process(sandbox) as bot:
        with slowed(sandbox.kube):
            await bot.driver.slash("UALICE", "inventory")
            await ws.wait_for(lambda w: shows(w, "inventory", RUNNING), timeout=30)
            # serve() returns once stopped cleanly, and `regclean serve` then exits 0.
            assert await bot.terminate() == 0

        # The process is gone, so whatever it sent is in the workspace already: no waiting here.
        [step] = db.snapshot().steps
        assert step.state == "interrupted" and step.finished, step
        advice = "Record it again with `/regclean inventory`"
        assert (step.error or "").startswith(INTERRUPTED) and advice in (step.error or "")
        assert len(told(ws, step, advice)) == 2, ws.transcript()
        assert shows(ws, "inventory", CUT), "the checklist's last update was delivered before exit"
        assert db.query("SELECT count(*) FROM inventories") == [(0,)], "the step was stopped, not finished"

        # Started again, the bot finds nothing running: the interruption is not reported twice.
        await bot.restart()
        assert db.snapshot().steps == (step,)
        assert len(told(ws, step, advice)) == 2
