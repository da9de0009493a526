"""Cluster strings cannot speak for the bot: the runbook on the hostile sandbox (sandbox/hostile.py),
with every message, update, ephemeral, response_url reply and file the workspace recorded checked
for a raw `<!channel>`, `<@U…>`, `<#C…>` or `<https://…|…>` of cluster data, for a line that broke
out of a code block, and for a CSV cell that a spreadsheet would run as a formula."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from handlers.blocks.preflight import ACK_UNVERIFIED
from sandbox.hostile import (
    CUSTOM_IMAGE,
    CUSTOM_USER,
    FORGED,
    HOSTILE_NODE,
    HOSTILE_OPERATOR,
    HOSTILE_PACKAGE,
    HostileSandbox,
    forged_lines,
    leaks,
)
from sandbox.platform import settle_missing_csvs
from sandbox.registry import S3Server
from sandbox.slack import SlackWorkspace
from sandbox.stack import RunningBot, Sandbox, running_bot
from tests.scenarios.conftest import inventory_done, text_of
from tests.scenarios.flow import VERIFY, approve, exported, in_thread, preflight, step_line

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
SEEN = {
    "operator display name": "Hostile&lt;!channel&gt;",  # in "What changed", once the operator went
    "plugin name": "hostile-plugin&lt;!channel&gt;",
    "operator name": "hostile-operator&lt;!channel&gt;",
    "artifactName": "hostile-operator&lt;!channel&gt;&lt;!here&gt;",
    "node name": f"{HOSTILE_NODE}&lt;!channel&gt;",
    "workload name": f"{CUSTOM_USER}&lt;!channel&gt;",
    "pod image": "acp/x&lt;!channel&gt;&lt;https://evil.example/approve",
    "package file name": "`hostile-operator&lt;!channel&gt;&lt;!here&gt;&lt;@U0HOSTILE&gt;",
}
"""Where each hostile value shows, escaped: the check below is not vacuous."""
IN_CSV = {
    "operator display name": "ClickHouse<!channel>",
    "plugin display name": "Alauda AI Essentials<!channel>",
}
"""Display names the narrow tables leave to the CSV files (not mrkdwn: as the cluster wrote them)."""


@pytest.fixture
async def box(tmp_path: Path, sandbox_s3: S3Server) -> AsyncIterator[Sandbox]:
    hostile = HostileSandbox(tmp_path / "sandbox", s3=sandbox_s3)
    await hostile.start()
    yield hostile
    await hostile.stop()


@pytest.fixture
async def bot(box: Sandbox) -> AsyncIterator[RunningBot]:
    async with running_bot(box, "http") as running:
        yield running


def _blocks(value: Any) -> list[Any]:
    if isinstance(value, str):
        value = json.loads(value) if value.strip() else []
    return list(value or [])


def mrkdwn(node: Any) -> Iterator[str]:
    """Every text Slack renders as mrkdwn in a block tree (plain_text is shown as it is)."""
    if isinstance(node, list):
        for item in node:
            yield from mrkdwn(item)
    elif isinstance(node, dict):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            yield node["text"]
        for value in node.values():
            if isinstance(value, dict | list):
                yield from mrkdwn(value)


def rendered(ws: SlackWorkspace) -> list[tuple[str, str]]:
    """(where, text) of every mrkdwn text the bot sent: each post and update as it was sent, not
    only as it is now, every ephemeral and ack, and every file's title and comment."""
    found: list[tuple[str, str]] = []
    for method, params in ws.calls:
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral", "response_url"):
            if isinstance(params.get("text"), str):
                found.append((f"{method} text", params["text"]))
            found += [(f"{method} blocks", t) for t in mrkdwn(_blocks(params.get("blocks")))]
        elif method == "files.completeUploadExternal":
            found.append((f"{method} initial_comment", str(params.get("initial_comment") or "")))
            found += [(f"{method} title", str(f.get("title") or "")) for f in _blocks(params.get("files"))]
    for ephemeral in ws.ephemerals:
        found.append((f"ephemeral ({ephemeral.source}) text", ephemeral.text))
        found += [(f"ephemeral ({ephemeral.source}) blocks", t) for t in mrkdwn(ephemeral.blocks)]
    return found


def assert_nothing_speaks_for_the_bot(ws: SlackWorkspace) -> None:
    texts = rendered(ws)
    leaked = [(where, found, text[:300]) for where, text in texts if (found := leaks(text))]
    assert not leaked, f"{len(leaked)} texts carry raw control sequences of cluster data: {leaked[:5]}"
    broken = [(where, text[max(0, text.find(FORGED) - 200) :]) for where, text in texts if forged_lines(text)]
    assert not broken, f"{len(broken)} texts where a value broke out of its code block or line: {broken}"
    for file in ws.files:
        if file.name.endswith(".csv"):
            rows = list(csv.reader(io.StringIO(file.content.decode())))
            risky = [cell for row in rows for cell in row if cell.startswith(FORMULA_START)]
            assert not risky, f"{file.name}: cells a spreadsheet runs as formulas: {risky[:3]}"


def refused(ws: SlackWorkspace, before: int) -> str | None:
    new = [e.text for e in ws.ephemerals[before:] if e.user == "UALICE" and e.source != "ack"]
    return new[-1] if new else None


@pytest.mark.timeout(180)
async def test_hostile_cluster_strings_never_reach_slack_raw(bot: RunningBot, box: Sandbox) -> None:
    ws = box.slack
    # The hostile package has no verification file: the preflight names it, for an approver to acknowledge.
    box.break_verification(HOSTILE_PACKAGE.file, "missing")
    # The inventory, with the hostile operator installed and without a package.
    await bot.driver.slash("UALICE", "inventory")
    await inventory_done(ws)
    await ws.wait_for(lambda w: len(w.files) >= 2, timeout=20)
    report = await preflight(bot, ws)
    assert "hostile-operator" in text_of(report), "the package gate names the operator without a package"
    before = len(ws.ephemerals)
    await bot.driver.slash("UALICE", "purge")
    refusal = await ws.wait_for(lambda w: refused(w, before), timeout=30)
    assert "hostile-operator" in refusal
    assert_nothing_speaks_for_the_bot(ws)

    # The operator goes; everything else is settled, and the purge is asked for, approved and run.
    assert box.kube.remove("operatorviews", "global", HOSTILE_OPERATOR) is not None
    settle_missing_csvs(box.kube)
    await bot.driver.slash("UALICE", "inventory")
    await ws.wait_for(lambda w: len(w.files) >= 4, timeout=30)
    await bot.driver.slash("UALICE", "backup")
    await ws.wait_for(lambda w: step_line(w, "✅", "Back up"), timeout=60)
    report = await preflight(bot, ws)
    pressed = report.button(ACK_UNVERIFIED)
    assert pressed is not None, text_of(report)
    await bot.driver.click("UBOB", ACK_UNVERIFIED, pressed["value"], message=report)
    await ws.wait_for(lambda w: in_thread(w, "acknowledged the 1 packages"), timeout=10)
    await bot.driver.slash("UBOB", f"waive {CUSTOM_IMAGE}")
    await ws.wait_for(lambda w: in_thread(w, "waived 1 custom image"), timeout=10)
    await exported(bot, ws, report)
    # The pull check fails for the hostile pod image alone, and says so in the thread and to Alice.
    await bot.driver.slash("UALICE", "verify")
    await ws.wait_for(lambda w: step_line(w, "❌", VERIFY), timeout=60)
    failed = await ws.wait_for(lambda w: in_thread(w, "this needs you"), timeout=10)
    assert "verify failed" in text_of(failed) and "evil.example" in text_of(failed)
    told = [e.text for e in ws.ephemerals if e.user == "UALICE" and "verify failed" in e.text]
    assert told and "evil.example" in told[-1]
    await bot.driver.slash("UALICE", "purge")
    await ws.wait_for(lambda w: in_thread(w, "is in the channel, waiting for"), timeout=30)
    [request] = [m for m in ws.messages if m.thread_ts is None and "Purge request #" in text_of(m)]
    await approve(bot, "UBOB", request)
    await ws.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    await approve(bot, "UCAROL", request)
    await ws.wait_for(lambda w: step_line(w, "✅", "Purge"), timeout=60)
    everything = "\n".join(t for _, t in rendered(ws))
    missing = [what for what, shown in SEEN.items() if shown not in everything]
    assert not missing, f"these hostile values never reached Slack, so nothing checked them: {missing}"
    csv_files = "\n".join(f.content.decode() for f in ws.files if f.name.endswith(".csv"))
    assert not [what for what, shown in IN_CSV.items() if shown not in csv_files]
    assert_nothing_speaks_for_the_bot(ws)
