"""ApprovalStep alone (with the PreflightStep and Calendar it is built with): the request, the clicks,
the expiry on the FakeClock, and a request that cannot be posted."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from actions.backup import BackupResult, NodeBackup
from actions.inventory import Inventory
from actions.kube import KubeReader
from bot.core.model import RunView, StepName, StepState
from bot.steps.approval.measure import measure
from bot.steps.approval.model import BucketMeasure, Outcome, RequestState, RequestView
from bot.steps.approval.plan import MinioPod as PlannedPod
from bot.steps.approval.records import Approvals
from bot.steps.approval.step import ApprovalStep
from bot.steps.inventory.codec import inventory_lines
from bot.steps.preflight.records import PreflightRecords
from bot.steps.preflight.step import PreflightStep
from bot.steps.purge.model import ApprovalNotice
from bot.steps.schedule.calendar import Calendar
from sandbox.kube import KubeApiServer
from sandbox.kube.exec import serve_exec
from sandbox.minio.pod import MinioPod
from sandbox.registry import S3Server
from tests.unit.bot.recorder import RecordingNotifier
from tests.unit.bot.steps.context import ALICE, NOW, Fakes, finished_step, kube_at, step_context
from tests.unit.handlers import samples

MINIO = {"REGCLEAN_MINIO_SELECTOR": "app=minio"}


@pytest.fixture
def minio(kube_api: KubeApiServer, s3: S3Server, tmp_path: Path) -> dict[str, str]:
    """The MinIO pods' exec (`mc` against moto), which the plan needs to read the bucket's versioning,
    and the registry's pod and ConfigMap, from which it decides how the cache is cleared; the
    settings that reach them."""
    pod = MinioPod(tmp_path / "minio-pod", "minio-admin", "minio-secret")
    pod.prepare()
    s3.create_bucket("registry")
    serve_exec(kube_api, pod.exec_target)
    # The registry, whose configuration (from its ConfigMap) says how the purge clears its cache.
    config = "version: 0.1\nstorage:\n  s3: {bucket: registry}\n  cache: {blobdescriptor: inmemory}\n"
    kube_api.add(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "registry-config", "namespace": "kube-system"},
            "data": {"config.yml": config},
        }
    )
    kube_api.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "registry-0", "namespace": "kube-system", "labels": {"app": "registry"}},
            "spec": {"containers": [{"name": "registry", "image": "registry:2"}]},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]},
        }
    )
    return {
        **MINIO,
        "REGCLEAN_MINIO_ENV_FILE": str(pod.env_file),
        "REGCLEAN_MINIO_URL": s3.url,
        "REGCLEAN_REGISTRY_SELECTOR": "app=registry",
        "REGCLEAN_REGISTRY_CONFIGMAP": "kube-system/registry-config",
    }


def approval(f: Fakes) -> ApprovalStep:
    calendar = Calendar(f.ctx)
    return ApprovalStep(f.ctx, PreflightStep(f.ctx, calendar), calendar)


def opened(f: Fakes, step: ApprovalStep, ttl: timedelta = timedelta(minutes=30)) -> RequestView:
    run = f.store.open_run("UALICE", "C1")
    return step.approvals.open(run.id, "UALICE", samples.plan(), 2, ttl)


def gates_hold(f: Fakes, kube_api: KubeApiServer) -> int:
    """A run whose gates all hold (an empty cluster, fully backed up and preflighted), and its MinIO pod."""
    run = f.store.open_run("UALICE", "C1")
    step_id = finished_step(f.store, run.id, StepName.INVENTORY, StepState.SUCCEEDED)
    f.store.save_inventory(run.id, step_id, "UALICE", NOW, "\n".join(inventory_lines(Inventory((), ()))))
    step_id = finished_step(f.store, run.id, StepName.BACKUP, StepState.SUCCEEDED)
    nodes = tuple(
        NodeBackup(a, a, f"/cpaas/backup/{a}-minio.tar", 100, 9, "ab" * 32, True, None, NOW)
        for a in ("127.0.0.11", "127.0.0.12", "127.0.0.13")
    )
    f.store.save_backups(run.id, step_id, BackupResult(nodes))
    step_id = finished_step(f.store, run.id, StepName.PREFLIGHT, StepState.SUCCEEDED)
    PreflightRecords(f.store.db).save_preflight(
        run.id, step_id, samples.record(custom=(), run_id=run.id, recorded_at=NOW)
    )
    kube_api.add(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "minio-0", "namespace": "kube-system", "labels": {"app": "minio"}},
            "spec": {"containers": [{"name": "minio", "image": "minio/minio"}]},
        }
    )
    return run.id


class PostingFails(RecordingNotifier):
    """Slack refuses to post the approval request (every other message goes through)."""

    async def approval_changed(self, run: RunView, notice: ApprovalNotice) -> dict[str, str] | None:
        self.events.append(("approval_failed", notice))
        raise ConnectionError("slack is down")


async def test_without_an_active_run_the_requester_is_refused(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:  # the cluster must not be touched
        approval(f).start(ALICE)
        await f.engine.drain()
        [(requester, reason)] = f.notifier.of("refused")
        assert requester == ALICE and reason == "No run is active. Start one with `/regclean inventory`."
        assert f.store.active_run() is None and f.notifier.of("approval") == []


async def test_two_other_approvers_complete_a_request_its_requester_cannot_approve(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        step = approval(f)
        request = opened(f, step)
        mine = await step.approve(request.id, "UALICE", may_approve=True)
        assert mine.outcome is Outcome.REFUSED and "you cannot approve it" in mine.reason
        stranger = await step.approve(request.id, "UMALLORY", may_approve=False)
        assert (
            stranger.outcome is Outcome.REFUSED and stranger.reason == "Only approvers may approve a purge."
        )
        first = await step.approve(request.id, "UBOB", may_approve=True)
        assert first.outcome is Outcome.COUNTED and first.reason == "1 of 2 approved."
        again = await step.approve(request.id, "UBOB", may_approve=True)
        assert again.outcome is Outcome.DUPLICATE
        second = await step.approve(request.id, "UCAROL", may_approve=True)
        assert second.outcome is Outcome.COMPLETED and second.approvals == ("UBOB", "UCAROL")
        view = await step.get(request.id)
        assert view.state is RequestState.APPROVED
        late = await step.approve(request.id, "UDAN", may_approve=True)
        assert late.outcome is Outcome.REFUSED and late.reason == "This request is already approved."
        shown = f.notifier.of("approval")[-1]
        assert shown.request.state is RequestState.APPROVED and shown.request.approvals == ("UBOB", "UCAROL")


async def test_a_request_expires_when_the_clock_passes_its_deadline_and_not_before(tmp_path: Path) -> None:
    with step_context(tmp_path) as f:
        step = approval(f)
        request = opened(f, step, ttl=timedelta(minutes=30))
        assert request.expires_at == NOW + timedelta(minutes=30)
        f.clock.advance(timedelta(minutes=29, seconds=59))
        assert not await step.expire(request.id)
        assert (await step.get(request.id)).state is RequestState.OPEN
        f.clock.advance(timedelta(seconds=1))
        assert await step.expire(request.id)
        view = await step.get(request.id)
        assert view.state is RequestState.EXPIRED and view.closed_by == "regclean"
        assert f.notifier.of("approval")[-1].request.state is RequestState.EXPIRED
        assert not await step.expire(request.id), "it expires once"
        click = await step.approve(request.id, "UBOB", may_approve=True)
        assert click.outcome is Outcome.REFUSED and "has expired" in click.reason


async def test_a_request_is_posted_with_the_minio_pod_in_its_plan(
    kube_api: KubeApiServer, kubeconfig: Path, tmp_path: Path, minio: dict[str, str]
) -> None:
    with step_context(tmp_path, minio, kube=kube_at(kubeconfig)) as f:
        run_id = gates_hold(f, kube_api)
        step = approval(f)
        step.start(ALICE)
        await f.engine.drain()
        assert f.refusals() == []
        [notice] = f.notifier.of("approval")
        view = notice.request
        assert view.state is RequestState.OPEN and view.run_id == run_id and view.requester == "UALICE"
        pod = kube_api.get("pods", "kube-system", "minio-0")
        assert pod is not None
        assert (view.plan.minio.pod, view.plan.minio.uid) == ("minio-0", pod["metadata"]["uid"])
        assert view.plan.minio.versioning == "" and "--versions" not in view.plan.command
        assert view.expires_at == NOW + timedelta(minutes=30) and view.required == 2
        assert Approvals(f.store.db).request_ref(view.id) == {"channel": "C", "ts": f"req-{view.id}"}


async def test_a_request_that_cannot_be_posted_is_voided_and_the_requester_told(
    kube_api: KubeApiServer, kubeconfig: Path, tmp_path: Path, minio: dict[str, str]
) -> None:
    with step_context(tmp_path, minio, kube=kube_at(kubeconfig), notifier=PostingFails()) as f:
        run_id = gates_hold(f, kube_api)
        step = approval(f)
        step.start(ALICE)
        await f.engine.drain()
        request_id = Approvals(f.store.db).latest_request(run_id)
        assert request_id is not None
        assert (await step.get(request_id)).state is RequestState.VOID
        [(requester, reason)] = f.notifier.of("refused")
        assert requester == ALICE
        assert reason.startswith(
            f"Purge request #{request_id} could not be posted for approval, so it was voided."
        )
        assert "Nothing was deleted." in reason
        assert "purge.void" in [e.action for e in f.store.audit_log(run_id)]
        click = await step.approve(request_id, "UBOB", may_approve=True)
        assert click.outcome is Outcome.REFUSED, "a void request cannot be approved"


async def test_the_request_is_measured_when_made_and_asks_every_approver_but_its_requester(
    kube_api: KubeApiServer, kubeconfig: Path, tmp_path: Path, minio: dict[str, str], s3: S3Server
) -> None:
    client = s3.client()
    for key, body in (("docker/a", b"a" * 700), ("docker/b", b"b" * 300)):
        client.put_object(Bucket="registry", Key=key, Body=body)
    client.close()
    env = {**minio, "REGCLEAN_APPROVERS": "UALICE,UBOB,@purge-approvers"}
    with step_context(tmp_path, env, kube=kube_at(kubeconfig)) as f:
        run_id = gates_hold(f, kube_api)
        step = approval(f)
        step.start(ALICE)
        await f.engine.drain()
        [posted] = f.notifier.of("approval")
        assert posted.asking == ("UBOB", "@purge-approvers"), "the requester cannot approve, so is not asked"
        measured = posted.request.measured
        assert measured == BucketMeasure(NOW, objects=2, bytes=1000, versions=False)
        stored = await step.get(posted.request.id)
        assert stored.measured == measured and stored.fingerprint == stored.plan.fingerprint
        assert stored.plan.encode().keys().isdisjoint({"measured", "objects", "bytes"}), "not fingerprinted"
        [requested] = [e for e in f.store.audit_log(run_id) if e.action == "purge.requested"]
        assert requested.detail["measured"]["objects"] == 2
        await step.approve(posted.request.id, "UBOB", may_approve=True)
        update = f.notifier.of("approval")[-1]
        assert update.asking == () and update.request.measured == measured, "asked once; the size stays"


async def test_a_measure_that_breaks_unexpectedly_is_a_sentence_and_never_an_exception(
    tmp_path: Path,
) -> None:
    def broken_kube() -> KubeReader:
        raise RuntimeError("boom\nTraceback (most recent call last)")

    with step_context(tmp_path, kube=broken_kube) as f:
        measured = await measure(f.ctx, samples.plan())
        assert measured == BucketMeasure(NOW, problem="an unexpected error (regclean's log has the details)")
        nowhere = await measure(f.ctx, samples.plan(minio=PlannedPod(None, None, None)))
        assert nowhere.problem == "the plan names no MinIO pod to run `mc du` in" and not nowhere.known
