"""`regclean demo` goes through the whole runbook so far and Slack rejects nothing; its log, in
JSON, tells the night: one start and one end line per step, with the counts.

The demo's registry starts as a platform's does before its cleanup: every image the installer and
the packages hold, the images workloads use (custom ones too), and old tags; metrics-server's
aggregated API is down and MinIO writes to its drive on every node as it runs. Outside regclean,
before the bot starts and after the run closed, the test looks for itself: skopeo, not regclean's
pull check, proves that every current image downloads in full and is the image the platform had
before, the old tags are gone and nothing else is, and moto's S3 says the bucket shrank. The
passwords given to upload.sh, violet and the pull check show nowhere.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bot.core.model import StepName
from sandbox.demo import run_demo
from sandbox.nodes import gate_missing
from sandbox.platform import custom_images
from sandbox.registry.seed import EXTRA_IMAGES
from sandbox.stack import Sandbox
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import RESTORE_CORE, RESTORE_CUSTOM, RESTORE_PLUGINS, VERIFY, in_thread, step_line
from tests.scenarios.registry_checks import of_image, posted, pull_in_full, pushed_digest, tags_after

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]


@pytest.mark.timeout(300)  # a whole runbook on real servers: 40–90 s here, more beside the other worker
async def test_the_demo_runs_the_whole_runbook(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    out, logs = io.StringIO(), io.StringIO()
    registry = RegistryWitness(tmp_path)
    assert await run_demo("http", out, logs, witness=registry) == 0, out.getvalue()[-3000:]
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
    assert "*alice* chose the window's start for the approved purge of request #1: it runs at" in text
    assert re.search(r"• (Today|Tomorrow) \d\d:\d\d: purge of request #1", text), (
        "a Slack date, as read in UTC"
    )
    assert "*Run #1 succeeded*" in text and "*reclaimed " in text and "state: succeeded" in text
    assert_the_log_tells_the_night(logs.getvalue(), objects=int(before.group(1)))
    assert_the_conversation_holds_together(text)
    assert_the_channel_was_told_how_it_went(registry.box)
    # The passwords given to upload.sh, violet and the pull check appear nowhere: not in Slack, the
    # logs (the JSON lines and every record down to DEBUG) or regclean's database.
    ws = registry.box.slack
    said = "\n".join(text_of(m) for m in ws.messages) + "\n".join(e.text for e in ws.ephemerals)
    for secret in (registry.box.platform_password, registry.box.registry.password):
        assert secret not in said and secret not in text, "in Slack"
        assert secret not in logs.getvalue() and secret not in caplog.text, "in the logs"
        assert secret.encode() not in registry.stored, "in the database"


class RegistryWitness:
    """The registry and its bucket as skopeo and moto see them, outside regclean (`DemoWitness` of
    sandbox/demo.py): before the bot starts, a registry before its cleanup; after the run closed, the
    old tags gone, every current image back as it was, and a smaller bucket."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        """Where skopeo downloads the images."""
        self._box: Sandbox | None = None
        self.custom: list[str] = []
        self.old: list[str] = []
        self.held: dict[str, str] = {}
        """The custom images' digests as the registry held them before the purge."""
        self.sizes: dict[str, int] = {}
        """The bucket's objects and their sizes before the bot started."""
        self.stored = b""
        """regclean's database files, as the run left them."""

    @property
    def box(self) -> Sandbox:
        """The demo's sandbox (stopped once `run_demo` returned: what it recorded stays readable)."""
        assert self._box is not None, "the demo never started its sandbox"
        return self._box

    async def before(self, box: Sandbox) -> None:
        self._box = box
        self.custom = custom_images(box)
        self.old = [ref for ref in EXTRA_IMAGES if ref not in box.restorable_images]
        current = {*box.restorable_images, *self.custom}
        assert len(self.old) == 3 and self.custom == [
            "retail/order-service:1.4.2",
            "retail/report-builder:2.0.0-rc1",
        ]
        assert set(box.images) == {*current, *self.old}, "a registry before its cleanup"
        self.sizes = await asyncio.to_thread(box.s3.object_sizes)
        # The custom images as the registry holds them before the purge; one is a multi-platform index.
        self.held = await pull_in_full(box, self.custom, self.scratch / "held")
        index = json.loads(
            (self.scratch / "held" / "retail_report-builder_2.0.0-rc1" / "manifest.json").read_bytes()
        )
        assert (
            index["mediaType"] == "application/vnd.oci.image.index.v1+json" and len(index["manifests"]) == 2
        )

    async def after(self, box: Sandbox) -> None:
        # An operator was upgraded during the run: its new package's images are current now too
        # (sandbox/demo.py records them in `package_images`), and the plugin restore pushed them.
        current = sorted({*box.restorable_images, *self.custom})
        added = set(current) - set(box.images)
        assert added, "the upgraded operator's package brings images the registry did not hold"
        # The old tags are gone, and nothing else is: the registry holds exactly the current images.
        repositories = {ref.rpartition(":")[0] for ref in (*box.images, *current)}
        assert await tags_after(box, repositories) == set(current)
        # Every current image downloads in full, and it is the image the platform had before.
        pulled = await pull_in_full(box, current, self.scratch / "pulled")
        assert pulled == {ref: pushed_digest(ref) for ref in current}
        assert {ref: pulled[ref] for ref in self.custom} == self.held, (
            "re-pushed from the export with the digests held before"
        )

        before, after = self.sizes, await asyncio.to_thread(box.s3.object_sizes)
        assert sum(after.values()) < sum(before.values()), (sum(before.values()), sum(after.values()))
        # Like for like: what came back is what was there, byte for byte, and no upload was left
        # behind; what is new is the upgraded package's, and what is gone is the old tags'.
        assert not [key for key in after if "/_uploads/" in key]
        kept = {key: size for key, size in after.items() if key in before}
        assert {key: before[key] for key in kept} == kept
        assert all(any(of_image(key, ref) for ref in added) for key in set(after) - set(before))
        assert set(before) - set(after) == {
            key for key in before if any(of_image(key, ref) for ref in self.old)
        }
        self.stored = b"".join(p.read_bytes() for p in box.workdir.glob("regclean.db*"))


def assert_the_channel_was_told_how_it_went(box: Sandbox) -> None:
    """The backup held while MinIO wrote, each restore and the pull checks passed, the unavailable
    metrics API was skipped and said so, and the final report tells the night and thanks everyone."""
    ws = box.slack
    # MinIO kept writing on every node during the backup; each backup held and says what changed.
    backed_up = posted(ws, "nodes have a verified backup") or ""
    assert "*3 of 3*" in backed_up
    if gate_missing() is None:  # as root, tar meets the scanner on every node, every time
        assert "tolerated, MinIO's bookkeeping" in backed_up
        assert all(node.scanner.saves_during_backup > 0 for node in box.nodes.nodes.values())
    core = in_thread(ws, "Pull check after the core restore")
    assert core is not None and ":white_check_mark: All" in text_of(core)
    # Nothing of the platform restores the team's own images: they go back from the run's export.
    for step in (RESTORE_CORE, RESTORE_PLUGINS, RESTORE_CUSTOM, VERIFY, "Close the run"):
        assert step_line(ws, "✅", step), step
    # Every image pulls after the plugin restore: the run closed itself with the final report.
    final = in_thread(ws, "Final report — run #")
    assert final is not None
    report = text_of(final)
    assert "(succeeded)" in (posted(ws, "Registry cleanup run #") or "")
    assert "succeeded*" in report and "*reclaimed " in report and "*3* old tags gone" in report
    skipped = posted(ws, "Skipped, as kubectl does")
    assert skipped is not None and "`metrics.k8s.io/v1beta1` answered 503 Service Unavailable" in skipped
    assert "Every image that workloads use is back" in report and "`acp/archon:v4.1.0`" in report
    assert "*Custom images*: *2* pushed back from the export and pulled" in report
    # named, not pinged: the thanks at the end are the report's mentions
    assert "approved by* *bob*, *carol*" in report and "requested by* *alice*" in report
    assert "Every operator is still Installed with the same CSV" in report and "Keep the backups" in report
    thanked = report.split("Thank you, ", 1)[1]
    assert all(f"<@{u}>" in thanked for u in ("UALICE", "UBOB", "UCAROL")), "everyone who took part"


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


# --- the conversation, as the transcript shows it ------------------------------------------------

HEAD = re.compile(r"^\s*(↳ )?regclean(?P<how>( \([^)]*\))*):(?P<first>.*)$")
"""A message of the bot in the transcript: `regclean (edited 3×): …`, `↳ regclean: …`, or an
ephemeral, `regclean (only visible to @alice): …`."""
ACTION = re.compile(r"^\s*@\w+( in \S+)?: ")
PEOPLE = ("alice", "bob", "carol", "oscar", "mallory")


def bot_messages(transcript: str) -> list[tuple[bool, str]]:
    """Each message of the bot: whether only one person saw it, and its text."""
    found: list[tuple[bool, list[str]]] = []
    for line in transcript.splitlines():
        head = HEAD.match(line)
        if head:
            first = head["first"].strip()
            found.append(("only visible to" in head["how"], [first] if first else []))
        elif ACTION.match(line) or not found:
            found.append((True, []))  # a person's command or click: not the bot's
        else:
            found[-1][1].append(line.strip())
    return [(ephemeral, "\n".join(body)) for ephemeral, body in found if any(body)]


def columns(line: str) -> int:
    """How wide a line is in a monospace font: East Asian wide characters take two columns."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)


def code_lines(message: str) -> list[str]:
    """The lines of a message's code blocks."""
    return [line for block in message.split("```")[1::2] for line in block.splitlines()]


def assert_the_conversation_holds_together(text: str) -> None:
    """What a reader of the channel would trip over: a gate line that does not follow the gates, a
    plural for one, raw user IDs, times without a date or in someone else's zone, a request that
    still says its purge started after it ended, the requester pinged for every step, "2 attempts" for
    an inventory recorded again, and tables too wide for a phone."""
    transcript = text.split("\nThe first lines of ")[0]
    messages = bot_messages(transcript)
    posted = [body for ephemeral, body in messages if not ephemeral]
    # The checklist's gate line says how the gates hold after the export, not at the preflight.
    [checklist] = [body for body in posted if body.startswith("Registry cleanup — run #1")]
    assert "✅ *Check the gates* — succeeded: all 6 gates hold" in checklist, checklist
    assert "not yet:" not in checklist
    # One thing, two things.
    assert not re.search(
        r"(?<![#.,\d])\b1 (thing|attempt|image|package|node|object|gate|run|operator|plugin)s\b", text
    )
    # People are names or mentions, never raw IDs.
    assert not re.search(r"\bU(ALICE|BOB|CAROL|OSCAR|MALLORY)\b", transcript), "a raw user ID in a message"
    # Times are Slack dates, which Slack shows in each reader's zone: no bare UTC clock, no other zone.
    for body in posted + [body for ephemeral, body in messages if ephemeral]:
        assert not re.search(r"\d\d:\d\d(:\d\d)? UTC|\d{4}-\d\d-\d\d \d\d:\d\d|\(UTC[+-]\d\d:\d\d\)", body), (
            body
        )
    # The purge request tells how its purge ended.
    [request] = [body for body in posted if body.startswith("Purge request #1")]
    assert "the purge succeeded" in request and "has started" not in request and "is running" not in request
    # The requester is pinged where they must act (only they choose when the approved purge runs)
    # and at the end, not for every step they started.
    pinged = [body.splitlines()[0] for body in posted if "@alice" in body]
    assert len(pinged) == 2, pinged
    assert "purge request #1 is approved" in pinged[0] and pinged[1] == "Final report — run #1", pinged
    for name in PEOPLE[1:]:  # the others are named, and pinged at most in the final thanks
        assert all(f"@{name}" not in body for body in posted if not body.startswith("Final report")), name
    # A step that ran twice on purpose says so; nothing is "2 attempts".
    assert "attempts" not in transcript
    assert "• Record operators and cluster plugins: succeeded each of the 2 times it ran" in transcript
    # Tables fit a phone: every line of a code block within 80 columns, apart from a tool's own
    # output (the newest lines of upload.sh) and the purge's command, shown whole on purpose.
    for body in posted:
        if "newest output" in body.splitlines()[0]:
            continue
        without_command = re.sub(r"\*Runs in the MinIO pod\*[^`]*```.*?```", "", body, flags=re.S)
        for line in code_lines(without_command):
            assert columns(line) <= 80, f"{columns(line)} columns: {line}"
