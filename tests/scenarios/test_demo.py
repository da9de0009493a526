"""`regclean demo` goes through the whole runbook so far and Slack rejects nothing."""

from __future__ import annotations

import io
import re

import pytest

from sandbox.demo import run_demo


@pytest.mark.timeout(300)  # a whole runbook on real servers: 40–90 s here, more beside the other worker
async def test_the_demo_runs_the_whole_runbook() -> None:
    out = io.StringIO()
    assert await run_demo("http", out) == 0, out.getvalue()[-3000:]
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
