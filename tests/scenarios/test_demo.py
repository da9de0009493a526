"""`regclean demo` goes through the whole runbook so far and Slack rejects nothing; its log, in
JSON, tells the night: one start and one end line per step, with the counts."""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from typing import Any

import pytest

from bot.core.model import StepName
from sandbox.demo import run_demo


@pytest.mark.timeout(300)  # a whole runbook on real servers: 40–90 s here, more beside the other worker
async def test_the_demo_runs_the_whole_runbook() -> None:
    out, logs = io.StringIO(), io.StringIO()
    assert await run_demo("http", out, logs) == 0, out.getvalue()[-3000:]
    text = out.getvalue()
    assert "these gates do not hold" in text
    assert "2 of 2 custom images exported and verified" in text
    assert "*Custom images exported* (2, verified)" in text, "the purge request names the exported tags"
    assert "2 of 2 custom images pushed back and pulled" in text
    assert "*Custom images*: *2* pushed back from the export and pulled" in text
    assert "You have already approved; it counts once." in text
    assert "✅ *Purge the registry bucket" in text
    before = re.search(r"(\d+) objects before the purge", text)
    assert before is not None, "the demo says what the bucket held"
    # The request says what the purge deletes, as `mc du` measured it when it was asked for.
    assert f"*Deletes* everything in the bucket: {int(before.group(1)):,} objects, " in text
    assert "--json rm --recursive --force minio/registry/```" in text, "the command whole, target included"
    assert "To undo: `regclean rollback --plan --run 1`" in text
    assert ", 0 after." in text
    assert "✅ *Restore core images" in text and "✅ *Restore plugin and operator images" in text
    assert "✅ *Verify that every image pulls" in text
    assert "Declared the maintenance window" in text and "[Purge at window start]" in text
    assert "is scheduled for the window's start" in text and "CET (UTC+01:00): purge of request #1" in text
    assert "*Run #1 succeeded*" in text and "*reclaimed " in text and "state: succeeded" in text
    assert_the_log_tells_the_night(logs.getvalue(), objects=int(before.group(1)))


def assert_the_log_tells_the_night(log: str, *, objects: int) -> None:
    """Every line is a JSON object; each step attempt has one start and one end line, with its counts."""
    lines = [json.loads(line) for line in log.splitlines()]
    assert lines and all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert all(line["time"].endswith("+00:00") for line in lines), "times are UTC"
    starts = [line for line in lines if line.get("event") == "step.start"]
    ends = {line["step_id"]: line for line in lines if line.get("event") == "step.end"}
    assert sorted(Counter(line["step_id"] for line in starts).values()) == [1] * len(starts)
    assert len(ends) == len([line for line in lines if line.get("event") == "step.end"]), "one end per step"
    assert [line["step_id"] for line in starts] == sorted(ends), "every step that started ended"
    assert {line["step"] for line in ends.values()} == set(StepName), "every step of the runbook ran"
    assert all(line["run"] == 1 and line["outcome"] == "succeeded" for line in ends.values())

    def counts(step: str) -> list[dict[str, Any]]:
        return [line["counts"] for line in ends.values() if line["step"] == step]

    assert [c["operators"] > 0 and c["plugins"] > 0 for c in counts("inventory")] == [True, True]
    assert counts("backup")[0]["nodes"] == 3 and counts("backup")[0]["bytes"] > 0
    assert counts("purge") == [{"objects_removed": objects, "registry_pods_restarted": 3}]
    plugins = counts("restore_plugins")[0]
    assert plugins["packages_pushed"] > 0 and plugins["packages_failed"] == 0
    assert counts("restore_custom") == [{"images_pushed": 2, "images_failed": 0}]
    assert [c["images_pulled"] > 0 and c["images_not_pullable"] == 0 for c in counts("verify")] == [
        True,
        True,
    ]
    # Lines the steps' modules log carry the step too (the engine marks the task it runs).
    assert any(line["logger"].startswith("actions.") and line.get("step") == "inventory" for line in lines)
    # The two-person rule: the request and each click, with the plan's fingerprint.
    decisions = [line for line in lines if str(line.get("event", "")).startswith("purge.")]
    assert [(d["event"], d.get("outcome")) for d in decisions][:1] == [("purge.request", None)]
    assert {d["fingerprint"] for d in decisions} == {decisions[0]["fingerprint"]}
    assert [d["actor"] for d in decisions if d.get("outcome") in ("counted", "completed")] == [
        "UBOB",
        "UCAROL",
    ]
