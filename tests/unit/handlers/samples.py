"""What the core hands the Slack layer for the preflight and the purge request, built the way the core
builds it, and a validator."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from actions.minio import PurgeResult
from actions.packages import Coverage
from actions.registry_cache import CacheClearing
from actions.violet_output import Shown, Verification
from bot.core.model import RunState, RunView, StepState, StepView
from bot.steps.approval.model import BucketMeasure, RequestState, RequestView
from bot.steps.approval.plan import (
    GateVerdict,
    MinioPod,
    Plan,
    PlannedBackup,
    PlannedInventory,
    PlannedPreflight,
)
from bot.steps.preflight.gates import Gate
from bot.steps.preflight.model import PreflightRecord, PreflightReport
from bot.steps.purge.model import ApprovalNotice
from handlers.blocks.tables import MAX_SECTION_TEXT
from sandbox.slack.validation import validate_message

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
RUN = RunView(1, RunState.ACTIVE, NOW, "UALICE", "C0RUNBOOK", {"channel": "C0RUNBOOK", "ts": "1.1"}, ())
STEP = StepView(5, 1, "preflight", StepState.SUCCEEDED, "UALICE", NOW, NOW, "ok", None)

GATES = (
    Gate("inventory", "Operators and plugins recorded", True, "Snapshot #4, recorded 5 min ago by UALICE."),
    Gate("backup", "Verified backup of every control-plane node", True, "3 of 3 nodes verified."),
    Gate("packages", "A package for every installed operator and plugin", True, "40 packages cover it."),
    Gate("custom", "Custom images acknowledged or exported", True, "Acknowledged by UALICE."),
    Gate("window", "Inside a maintenance window", True, "No maintenance windows are configured."),
)
FAILED_PACKAGES = Gate(
    "packages",
    "A package for every installed operator and plugin",
    False,
    "No package for: operator global/clickhouse-operator: needs clickhouse-operator v4.2.0.",
    "Put the missing packages in the plugin directory, then run the preflight again.",
)


CACHE = CacheClearing("restart", "s3", "inmemory", True, 3)
"""A registry on S3 with an in-memory blob cache, cleared by deleting its 3 pods."""


def record(custom: tuple[str, ...] = ("team-a/app", "team-b/api"), **changes: Any) -> PreflightRecord:
    """A preflight record of a small registry."""
    base = PreflightRecord(
        id=3,
        run_id=1,
        recorded_at=NOW,
        recorded_by="UALICE",
        installer_node="127.0.0.11",
        plugin_dir="/cpaas/installer/plugins",
        packages=("cilium-v4.2.17.tgz", "envoy-gateway-operator.tgz"),
        registry="registry.example:60080",
        repositories={"acp/core": ("latest", "v4.1"), **{c: ("v1",) for c in custom}},
        custom=custom,
        workload_images=("registry.example:60080/acp/core:latest",),
        verification=Verification(gpg=("envoy-gateway-operator.tgz",), checksum=("cilium-v4.2.17.tgz",)),
        registry_cache=CACHE,
        shown=(
            Shown("cilium-v4.2.17.tgz", "Cilium", "moduleplugin", "v4.2.17", "h.io/acp/chart-cilium:v4.2.17"),
            Shown(
                "envoy-gateway-operator.tgz", "Envoy Gateway", "bundle", "1.3.0", "h.io/acp/eg-bundle:v1.3.0"
            ),
        ),
    )
    return dataclasses.replace(base, **changes)


def report(rec: PreflightRecord | None = None, gates: tuple[Gate, ...] = GATES) -> PreflightReport:
    """A report over a record (the default one unless given)."""
    return PreflightReport(rec if rec is not None else record(), Coverage((), (), ()), gates)


def plan(**changes: Any) -> Plan:
    """A plan as the core makes it for a request (fields replaced by `changes`)."""
    base = Plan(
        run=1,
        bucket="registry",
        minio=MinioPod("kube-system", "minio-0", "0f9e8d7c"),
        command=(
            ". /etc/config/minio.env && mc --insecure alias set minio https://127.0.0.1:9000 "
            '"$MINIO_ACCESS_KEY" "$MINIO_SECRET_KEY" && mc --insecure rm --recursive --force minio/registry/'
        ),
        backups=tuple(
            PlannedBackup(
                f"master-{i}",
                f"127.0.0.1{i}",
                f"/cpaas/backup/127.0.0.1{i}-minio.tar",
                3 * 1024**3 + i,
                f"{i}" * 64,
            )
            for i in range(1, 4)
        ),
        inventory=PlannedInventory(snapshot=4, operators=12, plugins=30),
        preflight=PlannedPreflight(
            id=3,
            packages=40,
            repositories=3400,
            tags=9100,
            custom=2,
            custom_ack_by="UALICE",
            workload_images=230,
        ),
        gates=tuple(GateVerdict.of(g) for g in GATES if g.key != "window"),
        window="Sat 22:00–Sun 04:00 UTC",
    )
    return dataclasses.replace(base, **changes)


def request(
    state: RequestState = RequestState.OPEN,
    approvals: tuple[str, ...] = (),
    closed_by: str | None = None,
    the_plan: Plan | None = None,
    measured: BucketMeasure | None = None,
) -> RequestView:
    """A purge request of UALICE that needs two approvals (with the bucket as measured, if given)."""
    chosen = the_plan if the_plan is not None else plan()
    return RequestView(
        7,
        1,
        "UALICE",
        chosen.fingerprint,
        chosen,
        2,
        state,
        NOW,
        NOW + timedelta(minutes=30),
        approvals,
        closed_by,
        measured,
    )


def notice(view: RequestView | None = None) -> ApprovalNotice:
    """The notice the core sends for a request."""
    return ApprovalNotice(view if view is not None else request(), GATES)


def purge_result(**changes: Any) -> PurgeResult:
    """A purge that emptied the bucket and brought the registry back."""
    base = PurgeResult(
        pod="kube-system/minio-0",
        bucket="registry",
        bytes_before=250 * 1024**3,
        objects_before=1_234_567,
        removed=1_234_567,
        bytes_after=0,
        objects_after=0,
        empty=True,
        restarted=("registry-5d9c-abcde", "registry-5d9c-fghij"),
        registry_ready=True,
    )
    return dataclasses.replace(base, **changes)


def valid(text: str, blocks: list[dict[str, Any]]) -> str:
    """Refuse what Slack would refuse (sandbox validation, slack_sdk models); all the text, for asserts."""
    validate_message(text, blocks)
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
    return "\n".join([text, *texts(blocks)])


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every text of the blocks: sections, headers, context elements, button labels."""
    out = []
    for block in blocks:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text")
            out.append(text["text"] if isinstance(text, dict) else str(text))
    return out


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """action_id → button, in every actions block."""
    return {
        e["action_id"]: e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e.get("type") == "button"
    }
