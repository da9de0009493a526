"""A purge that cannot start or does not provably succeed: never reported as done, nothing hidden."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sandbox.minio.config import deny_deletes
from sandbox.slack import SlackWorkspace
from sandbox.stack import RunningBot, Sandbox, running_bot
from tests.present import present
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import approve, gates_hold, ready_for_purge, request_message, step_line

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)


def refused(ws: SlackWorkspace, needle: str) -> bool:
    return any(e.user == "UALICE" and needle in e.text for e in ws.ephemerals)


def minio_pod(sandbox: Sandbox) -> dict[str, Any]:
    pod = sandbox.kube.get("pods", "kube-system", "minio-0")
    assert pod is not None
    return copy.deepcopy(pod)


async def approved(bot: RunningBot, sandbox: Sandbox) -> None:
    request = await ready_for_purge(bot, sandbox)
    await approve(bot, "UBOB", request)
    await sandbox.slack.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    await approve(bot, "UCAROL", request)


def not_ready(pod: dict[str, Any], phase: str = "Running") -> dict[str, Any]:
    """The pod as kubelet reports it while its readiness probe fails (or while it starts)."""
    changed = copy.deepcopy(pod)
    changed["status"]["phase"] = phase
    for condition in changed["status"]["conditions"]:
        if condition["type"] in ("Ready", "ContainersReady"):
            condition["status"] = "False"
    for container in changed["status"]["containerStatuses"]:
        container["ready"] = False
    return changed


MINIO_PODS = ("minio-0", "minio-1", "minio-2")


async def test_no_minio_pod_or_none_ready_refuse_the_request(http_bot: RunningBot, sandbox: Sandbox) -> None:
    ws = sandbox.slack
    pods = {name: present(sandbox.kube.get("pods", "kube-system", name)) for name in MINIO_PODS}
    await gates_hold(http_bot, sandbox)
    for name in MINIO_PODS:
        sandbox.kube.remove("pods", "kube-system", name)
    await http_bot.driver.slash("UALICE", "purge")
    await ws.wait_for(lambda w: refused(w, "No MinIO pod in namespace kube-system with selector app=minio"))
    for name, pod in pods.items():
        sandbox.kube.add(not_ready(pod, "Pending" if name == "minio-1" else "Running"))
    await http_bot.driver.slash("UALICE", "purge")
    await ws.wait_for(lambda w: refused(w, "None of the 3 MinIO pods"))
    said = next(e.text for e in ws.ephemerals if "None of the 3 MinIO pods" in e.text)
    assert (
        "None of the 3 MinIO pods in namespace kube-system with selector app=minio is Ready: "
        "minio-0 (Running, not Ready), minio-1 (Pending, not Ready), minio-2 (Running, not Ready)."
    ) in said
    minio_execs = [c for c in sandbox.exec.started if "mc " in c[-1]]
    assert request_message(ws) is None and minio_execs == [], "no MinIO pod was asked anything"


async def test_with_minio_0_not_ready_the_plan_names_minio_1_and_the_purge_runs_there(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    sandbox.kube.add(not_ready(present(sandbox.kube.get("pods", "kube-system", "minio-0"))))
    request = await ready_for_purge(http_bot, sandbox)
    assert "through the MinIO pod `kube-system/minio-1`" in text_of(request)
    await approve(http_bot, "UBOB", request)
    await ws.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    await approve(http_bot, "UCAROL", request)
    await ws.wait_for(lambda w: step_line(w, "✅", "Purge"), timeout=60)
    assert sandbox.s3.object_count() == 0, "every MinIO pod serves the one bucket"
    execs = {path.split("/")[6] for _, path in sandbox.kube.requests if "/exec?" in path}
    # besides MinIO's, only a registry pod's exec (`cat` of its configuration, for the plan)
    assert {e for e in execs if not e.startswith("registry-")} == {"minio-1"}


async def test_a_pod_replaced_after_approval_voids_it_and_nothing_is_deleted(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    request = await ready_for_purge(http_bot, sandbox)
    await approve(http_bot, "UBOB", request)
    await ws.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    pod = minio_pod(sandbox)
    pod["metadata"]["uid"] = "a-new-pod"  # the StatefulSet recreated it: another pod, another plan
    sandbox.kube.add(pod)
    await approve(http_bot, "UCAROL", request)
    await ws.wait_for(lambda w: refused(w, "did not start"))
    await ws.wait_for(lambda w: "changed" in text_of(request))
    removals = [c for c in sandbox.exec.started if " rm " in c[-1]]
    assert sandbox.s3.object_count() > 0 and removals == [], "only the plan's reads ran in the pods"


async def test_a_failing_purge_command_fails_the_step_with_its_output(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    objects = sandbox.s3.object_count()
    # A MinIO policy denies these keys `s3:DeleteObject`: everything the plan reads works, `mc rm` fails.
    deny_deletes(sandbox.minio_pod.home / ".mc")
    await approved(http_bot, sandbox)
    checklist = await ws.wait_for(lambda w: step_line(w, "❌", "Purge"), timeout=60)
    said = "\n".join(text_of(m) for m in [checklist, *ws.messages])
    assert "exited with status 1" in said and "Access Denied." in said, "mc's own error, read from its JSON"
    assert sandbox.s3.object_count() == objects
    run = await http_bot.bot.runbook.status()
    assert run is not None and [s.state for s in run.steps if s.name == "purge"] == ["failed"]
    assert not any(s.name == "purge" and s.state == "succeeded" for s in run.steps)


async def test_stale_minio_keys_refuse_the_request_before_anything_is_deleted(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    objects = sandbox.s3.object_count()
    # MinIO's keys were rotated, but the pod's env file was not: the plan cannot read the bucket.
    env = sandbox.minio_pod.env_file
    env.write_text(env.read_text().replace(sandbox.minio_secret, "stale-secret"))
    await gates_hold(http_bot, sandbox)
    await http_bot.driver.slash("UALICE", "purge")
    await ws.wait_for(lambda w: refused(w, "Cannot tell whether the bucket registry is versioned"))
    said = next(e.text for e in ws.ephemerals if "Cannot tell whether" in e.text)
    assert "signature we calculated does not match" in said and "stale-secret" not in said
    assert request_message(ws) is None and sandbox.s3.object_count() == objects


async def test_a_cut_stream_is_outcome_unknown_never_success(http_bot: RunningBot, sandbox: Sandbox) -> None:
    ws = sandbox.slack
    pods_before = sorted(p["metadata"]["name"] for p in sandbox.kube.objects("pods", "kube-system"))
    sandbox.exec.cut_after_bytes(2000)  # the `mc du` line passes; the purge's output is cut midway
    await approved(http_bot, sandbox)
    await ws.wait_for(lambda w: step_line(w, "❌", "Purge"), timeout=60)
    run = await http_bot.bot.runbook.status()
    assert run is not None
    [step] = [s for s in run.steps if s.name == "purge"]
    assert step.state == "failed" and "outcome unknown" in (step.error or "")
    stored = http_bot.bot.runbook.purge.latest(run.id)
    assert stored is not None and not stored[0].empty and not stored[0].registry_ready
    pods_after = sorted(p["metadata"]["name"] for p in sandbox.kube.objects("pods", "kube-system"))
    assert pods_after == pods_before, "the registry is not restarted after an unknown outcome"


async def test_a_missing_setting_is_named_not_a_stack_trace(sandbox: Sandbox) -> None:
    async with running_bot(sandbox, "http", {"REGCLEAN_MINIO_SELECTOR": ""}) as bot:
        await gates_hold(bot, sandbox)
        await bot.driver.slash("UALICE", "purge")
        await sandbox.slack.wait_for(lambda w: refused(w, "REGCLEAN_MINIO_SELECTOR"))
    assert request_message(sandbox.slack) is None
