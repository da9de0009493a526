"""Block Kit for the custom images: the export's progress in place, the plan's lines, the final report's."""

from __future__ import annotations

import dataclasses

from actions.exported import ExportedImage, ImageOutcome
from bot.core.wording import counted
from bot.steps.approval.plan import PlannedCustomImages
from bot.steps.close.report import Bucket, CatalogCheck, CustomCheck, FinalReport, InventoryCheck
from bot.steps.export.model import ImagesReport
from handlers.blocks.approval import plan_lines
from handlers.blocks.custom_images import custom_report_blocks, images_blocks, images_text
from handlers.blocks.report import report_text
from tests.unit.handlers.samples import RUN, STEP, plan, valid

INDEX = "application/vnd.oci.image.index.v1+json"
A, B = "retail/report-builder:2.0.0-rc1", "retail/order-service:1.4.2"
DIGEST = "sha256:" + "c" * 64


def test_the_export_shows_a_line_per_finished_image_then_the_verdict() -> None:
    done = ImageOutcome(A, True, None, ExportedImage(A, DIGEST, INDEX, 2, 4, 3 * 2**20))
    running = ImagesReport("export", "/var/lib/regclean/exports/run-1", (A, B), (done,))
    text = valid(images_text(running), images_blocks(RUN, STEP, running))
    assert "Exporting 2 custom images… *1 of 2* done." in text
    assert f"✓ {A}  3.0 MiB, 2 platforms\n  {DIGEST}" in text and B not in text
    broken = ImageOutcome(B, False, "registry error: 500 Internal Server Error for the manifest", None)
    finished = dataclasses.replace(
        running, done=(done, broken), finished=True, verdict="1 of 2 custom images exported"
    )
    text = valid(images_text(finished), images_blocks(RUN, STEP, finished))
    assert ":x: 1 of 2 custom images exported" in text
    assert f"✗ {B}\n  registry error: 500 Internal Server Error for the manifest" in text
    assert "`/var/lib/regclean/exports/run-1`" in text


def test_the_request_names_the_exported_tags_with_digests_and_the_waived_ones_with_their_approver() -> None:
    planned = plan(custom_images=PlannedCustomImages("/x/run-1", ((A, DIGEST),), ((B, "UBOB"),)))
    lines = "\n".join(plan_lines(planned))
    assert (
        f"*Custom images exported* (1, verified) to `/x/run-1`, pushed back after the restore: `{A}` `{DIGEST}`"
        in lines
    )
    assert f"*Custom images waived* (1): the purge deletes them for good: `{B}` by <@UBOB>" in lines
    assert "Custom images" not in "\n".join(plan_lines(plan())), "a plan without any says nothing"


def test_a_waived_tag_that_running_workloads_use_is_flagged_in_the_request() -> None:
    planned = plan(custom_images=PlannedCustomImages("/x/run-1", (), ((B, "UBOB"), (A, "UBOB"))))
    in_use = {B: ("retail-prod/order-service", "retail-prod/order-worker")}
    lines = "\n".join(plan_lines(planned, in_use))
    assert (
        f"`{B}` by <@UBOB> (:warning: in use by `retail-prod/order-service`, `retail-prod/order-worker`)"
        in lines
    )
    assert f"`{A}` by <@UBOB>," not in lines and lines.endswith(f"`{A}` by <@UBOB>"), (
        "a tag nothing uses is not flagged"
    )


def test_the_final_report_lists_the_custom_images_pushed_back_not_back_and_waived() -> None:
    check = CustomCheck(
        (A,),
        (f"{B}: pushed, but does not pull: missing blob",),
        ("retail/c:3 (waived by UBOB; used by shop/web)",),
    )
    report = _report(check)
    text = valid("t", custom_report_blocks(report))
    assert "*Custom images*: *1* pushed back from the export and pulled (same digests)." in text
    assert f":x: *Not back (1):* {B}: pushed, but does not pull: missing blob" in text
    assert ":wastebasket: *Waived, lost for good (1):* retail/c:3 (waived by UBOB; used by shop/web)" in text
    assert custom_report_blocks(_report(None)) == []


def _report(check: CustomCheck | None) -> FinalReport:
    return FinalReport(
        run_id=1, closed_by="UALICE", requester=None, approvers=(), bucket=Bucket("registry", None, None, None, None),
        objects_removed=None, steps=(), inventory=InventoryCheck(None, 0, 0, 0, 0, 0, ()),
        catalog=CatalogCheck(0, 0, 0, 0, (), (), (), (), ()), images_checked=0, images_pullable=0,
        verified_scope=None, packages_pushed=0, packages_total=0, left_to_do=(), succeeded=False, custom=check,
    )  # fmt: skip


def test_the_notification_counts_what_is_left_in_good_english() -> None:
    one = dataclasses.replace(_report(None), left_to_do=("verify",))
    two = dataclasses.replace(_report(None), left_to_do=("verify", "restore plugins"))
    assert report_text(one).endswith(": 1 thing left to do")
    assert report_text(two).endswith(": 2 things left to do")
    assert counted(1_000, "image") == "1,000 images" and counted(1, "entry", "entries") == "1 entry"
