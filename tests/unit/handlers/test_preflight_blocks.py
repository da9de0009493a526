"""The preflight report and the purge result as Slack shows them, within Block Kit's limits."""

from __future__ import annotations

import dataclasses
import re

from actions.violet_output import Verification
from bot.steps.preflight.model import PreflightReport
from handlers.blocks.custom_images import EXPORT
from handlers.blocks.preflight import ACK_UNVERIFIED, preflight_blocks, preflight_text
from handlers.blocks.purge import purge_blocks, purge_text
from handlers.blocks.tables import MAX_BLOCKS
from tests.unit.handlers.samples import (
    FAILED_PACKAGES,
    GATES,
    NOW,
    RUN,
    STEP,
    buttons,
    purge_result,
    record,
    report,
    valid,
)


def test_every_gate_is_a_checklist_line_and_a_failed_one_says_what_would_satisfy_it() -> None:
    gates = (*GATES[:2], FAILED_PACKAGES, *GATES[3:])
    the_report = report(gates=gates)
    blocks = preflight_blocks(RUN, the_report)
    text = valid(preflight_text(the_report), blocks)
    for gate in GATES:
        assert gate.title in text
    assert text.count("✅") == 4 and text.count("❌") == 1
    assert "clickhouse-operator v4.2.0" in text
    assert "Put the missing packages in the plugin directory" in text
    assert "1 of 5 gates do not hold" in text


def test_a_gate_that_holds_shows_no_remedy() -> None:
    holding = dataclasses.replace(GATES[0], remedy="Run `/regclean inventory`.")
    text = valid("t", preflight_blocks(RUN, report(gates=(holding,))))
    assert "Run `/regclean inventory`" not in text
    assert "All 1 gates hold" in text


def test_the_summary_counts_repositories_tags_workload_images_and_packages() -> None:
    text = valid("t", preflight_blocks(RUN, report()))
    assert "`registry.example:60080`" in text
    assert "*3* repositories" in text and "*4* tags" in text
    assert "*1* images" in text
    assert "*2* in `/cpaas/installer/plugins` on `127.0.0.11`" in text


def test_custom_images_are_listed_with_the_export_button_carrying_the_record_id() -> None:
    blocks = preflight_blocks(RUN, report())
    text = valid("t", blocks)
    assert "team-a/app" in text and "team-b/api" in text
    assert "Export them (`/regclean export`, or the button)" in text
    button = buttons(blocks)[EXPORT]
    assert button["value"] == "3"
    assert button["text"]["text"] == "Export 2 custom images"


def test_an_acknowledgement_stored_before_exports_shows_nothing_and_the_export_is_still_offered() -> None:
    acked = record(custom_ack_by="UBOB", custom_ack_at=NOW)
    blocks = preflight_blocks(RUN, report(acked))
    assert "Acknowledged by <@UBOB>" not in valid("t", blocks)
    assert EXPORT in buttons(blocks)


def test_no_custom_images_means_no_button() -> None:
    blocks = preflight_blocks(RUN, report(record(custom=())))
    assert buttons(blocks) == {}
    assert "No custom images" in valid("t", blocks)


def test_five_thousand_custom_images_fit_one_message_and_the_rest_is_counted() -> None:
    custom = tuple(f"team-{i % 50:02d}/service-{i:05d}-with-a-long-name" for i in range(5000))
    blocks = preflight_blocks(RUN, report(record(custom=custom)))
    valid("t", blocks)
    assert len(blocks) <= MAX_BLOCKS
    listed = [
        line
        for b in blocks
        if b["type"] == "section" and b["text"]["text"].startswith("```")
        for line in b["text"]["text"].strip("`").split("\n")
    ]
    expected = [f"{tag}  ← unused" for tag in custom[: len(listed)]]
    assert listed == expected, "the first tags, each once, in order, with who uses them"
    more = [t for t in (e["text"] for b in blocks if b["type"] == "context" for e in b["elements"])]
    assert f"…and {5000 - len(listed):,} more; the file in the thread lists every one." in more
    assert buttons(blocks)[EXPORT]["text"]["text"] == "Export 5,000 custom images"


def test_names_from_the_registry_and_the_gates_are_escaped() -> None:
    evil = record(custom=("<!channel>/x",), registry="<!here>&co", recorded_by="cli:<root>")
    gate = dataclasses.replace(FAILED_PACKAGES, detail="No package for <!everyone>.")
    text = valid("t", preflight_blocks(RUN, report(evil, gates=(gate,))))
    assert not re.search(r"<!(channel|here|everyone)", text)
    assert "&lt;!channel&gt;/x" in text and "&lt;!here&gt;&amp;co" in text
    assert "&lt;!everyone&gt;" in text and "`cli:&lt;root&gt;`" in text


def test_a_preflight_without_a_record_still_shows_the_gates() -> None:
    the_report = PreflightReport(None, None, (FAILED_PACKAGES,))
    text = valid(preflight_text(the_report), preflight_blocks(RUN, the_report))
    assert FAILED_PACKAGES.title in text and "Nothing was read" in text


def test_custom_tags_are_listed_with_the_workloads_that_use_them() -> None:
    rec = record(
        custom=("team-a/app:v1", "team-b/api:v1"),
        custom_workloads={"team-a/app:v1": ("team-a/web", "team-a/cron")},
    )
    text = valid("t", preflight_blocks(RUN, report(rec)))
    assert "team-a/app:v1  ← team-a/web, team-a/cron" in text
    assert "team-b/api:v1  ← unused" in text
    assert "2 custom images" in text and "tags that neither the installer nor a package restores" in text


def test_packages_without_a_verification_file_get_an_approvers_button_until_acknowledged() -> None:
    unverified = Verification(gpg=("envoy-gateway-operator.tgz",), missing=("cilium-v4.2.17.tgz",))
    blocks = preflight_blocks(RUN, report(record(verification=unverified)))
    text = valid("t", blocks)
    assert "*1 package has no verification file*" in text and "`cilium-v4.2.17.tgz`" in text
    button = buttons(blocks)[ACK_UNVERIFIED]
    assert button["value"] == "3" and "Only an approver" in str(button["confirm"])
    acknowledged = preflight_blocks(RUN, report(record(verification=unverified, verify_ack_by="UBOB")))
    assert ACK_UNVERIFIED not in buttons(acknowledged)
    assert "Acknowledged by <@UBOB>" in valid("t", acknowledged)
    assert ACK_UNVERIFIED not in buttons(preflight_blocks(RUN, report())), "all verified: no button"


def test_the_purge_result_shows_the_bucket_before_and_after_and_the_registry() -> None:
    result = purge_result()
    text = valid(purge_text(result), purge_blocks(RUN, STEP, result))
    assert "`kube-system/minio-0`" in text
    assert "*Size* 250.0 GiB → 0 B" in text
    assert "*Objects* 1,234,567 → 0 (1,234,567 removed)" in text
    assert "*Empty* yes" in text
    assert "Registry pods restarted and Ready: `registry-5d9c-abcde` and `registry-5d9c-fghij`" in text
    assert ":warning:" not in text


def test_a_purge_that_left_objects_and_a_registry_not_ready_says_so() -> None:
    result = purge_result(
        bytes_after=None, objects_after=3, empty=False, registry_ready=False, restarted=(), problem="<oops>"
    )
    text = valid(purge_text(result), purge_blocks(RUN, STEP, result))
    assert "is *not* empty" in text and "*Empty* no" in text
    assert "→ –" in text and "→ 3" in text
    assert "registry pods are *not* Ready" in text
    assert ":warning: &lt;oops&gt;" in text
