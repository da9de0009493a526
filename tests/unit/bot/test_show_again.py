"""After a restart the bot shows its messages again from the store: the checklists of the active
run and of the newest closed one, and each one's newest purge request, but only where they were
posted (a request whose post failed was voided, and stays unseen)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from actions.kube import KubeClient
from bot.config.settings import Settings
from bot.runbook import Runbook
from bot.store.runs import Store
from tests.databases import open_store
from tests.unit.bot.recorder import RecordingNotifier
from tests.unit.bot.test_approval import PLAN


def runbook(store: Store, notifier: RecordingNotifier, kubeconfig: Path) -> Runbook:
    return Runbook(store, notifier, lambda: KubeClient.from_config(str(kubeconfig)), Settings.load({}))


async def test_the_active_runs_checklist_and_request_are_shown_again_where_they_were_posted(
    kubeconfig: Path, tmp_path: Path
) -> None:
    store, notifier = open_store(f"sqlite:///{tmp_path / 'regclean.db'}"), RecordingNotifier()
    bot = runbook(store, notifier, kubeconfig)
    run = store.open_run("UALICE", "C1")
    assert await bot.restart.show_again() == [], "never posted: nothing to show again"
    assert notifier.of("run_changed") == []

    store.set_notifier_ref(run.id, {"channel": "C1", "ts": "1.1"})
    approvals = bot.approval.approvals
    request = approvals.open(run.id, "UALICE", PLAN, 2, timedelta(minutes=30))
    assert await bot.restart.show_again() == [run.id]
    assert [r.id for r in notifier.of("run_changed")] == [run.id]
    assert notifier.of("approval") == [], "a request without a posted message stays unseen"

    approvals.set_request_ref(request.id, {"channel": "C1", "ts": "2.2"})
    assert await bot.restart.show_again() == [run.id]
    [notice] = notifier.of("approval")
    assert notice.request.id == request.id and notice.ref == {"channel": "C1", "ts": "2.2"}
