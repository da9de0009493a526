"""The purge request as the channel sees it: the plan, the count, and buttons only while it is open."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.core.model import StepState, StepView
from bot.steps.approval.model import BucketMeasure, RequestState
from bot.steps.approval.plan import MinioPod, PlannedBackup, PlannedInventory
from bot.steps.purge.model import ApprovalNotice
from handlers.blocks.approval import APPROVE, REJECT, approval_blocks, approval_text
from handlers.blocks.approval_scope import shell_lines
from handlers.blocks.tables import MAX_BLOCKS, escape
from tests.unit.handlers.samples import GATES, NOW, buttons, notice, plan, request, valid

EXPIRY = int(NOW.timestamp()) + 30 * 60


def rendered(the_notice: ApprovalNotice) -> tuple[str, list[dict]]:
    blocks = approval_blocks(the_notice)
    return valid(approval_text(the_notice), blocks), blocks


def test_an_open_request_shows_the_plan_gates_fingerprint_and_who_asked() -> None:
    view = request()
    text, blocks = rendered(notice(view))
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Purge request #7", "emoji": True},
    }
    assert "*Bucket* `registry` through the MinIO pod `kube-system/minio-0`" in text
    for i in (1, 2, 3):
        assert f"127.0.0.1{i}-minio.tar" in text and str(i) * 64 in text
    assert "3.0 GiB" in text
    assert "snapshot #4: 12 operators, 30 plugins" in text
    assert "*Preflight* #3: 40 packages; 3,400 repositories and 9,100 tags" in text
    assert "2 custom images, acknowledged by <@UALICE>; 230 images used by workloads" in text
    assert "*Window* Sat 22:00–Sun 04:00 UTC" in text
    command = escape("\n".join(shell_lines(plan().command)))
    assert f"*Runs in the MinIO pod* `kube-system/minio-0`:\n```{command}```" in text, "the command whole"
    assert command.endswith("rm --recursive --force minio/registry/")
    assert " ".join(line.removesuffix(" \\").strip() for line in command.split("\n")) == escape(
        plan().command
    ), "the same command, in lines that fit a phone"
    assert "*Also in the plan*" not in text
    assert "To undo: `regclean rollback --plan --run 1`" in text and "(README, Rollback)" in text
    for gate in GATES:
        assert f"✅ *{gate.title}*" in text
    assert f"*Fingerprint* `{view.fingerprint[:12]}`" in text
    assert f"`{view.fingerprint}`" in text and view.fingerprint in "".join(
        e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]
    )
    assert "Requested by <@UALICE>" in text
    assert f"open until <!date^{EXPIRY}^{{date_short_pretty}} {{time}}|2025-03-14 10:00:00 UTC>" in text


def test_an_open_request_has_approve_and_reject_buttons_carrying_its_id() -> None:
    _, blocks = rendered(notice())
    found = buttons(blocks)
    assert set(found) == {APPROVE, REJECT}
    assert found[APPROVE]["value"] == found[REJECT]["value"] == "7"
    assert found[APPROVE]["style"] == "primary" and found[APPROVE]["confirm"]["confirm"]["text"] == "Approve"
    assert found[REJECT]["style"] == "danger" and found[REJECT]["confirm"]["confirm"]["text"] == "Reject"


@pytest.mark.parametrize(
    ("approvals", "line"),
    [((), "0 of 2 approved"), (("UBOB",), "1 of 2 approved: <@UBOB>")],
)
def test_the_count_line_names_who_approved_so_far(approvals: tuple[str, ...], line: str) -> None:
    the_notice = notice(request(approvals=approvals))
    text, _ = rendered(the_notice)
    assert line in text
    assert approval_text(the_notice).endswith(line)
    if not approvals:
        assert "approved:" not in text


@pytest.mark.parametrize(
    ("state", "approvals", "closed_by", "outcome"),
    [
        (
            RequestState.APPROVED,
            ("UBOB", "UCAROL"),
            None,
            "Approved by <@UBOB> and <@UCAROL>; the purge is starting (or waits for the window the requester chose).",
        ),
        (
            RequestState.STARTED,
            ("UBOB", "UCAROL"),
            None,
            "Approved by <@UBOB> and <@UCAROL>; the purge is running.",
        ),
        (RequestState.REJECTED, ("UBOB",), "UCAROL", "Rejected by <@UCAROL>."),
        (RequestState.REJECTED, (), None, ":no_entry: Rejected."),
        (
            RequestState.EXPIRED,
            (),
            "regclean",
            f"Expired at <!date^{EXPIRY}^{{date_short_pretty}} {{time}}|2025-03-14 10:00:00 UTC>; "
            "ask for a new one with `/regclean purge`.",
        ),
        (RequestState.VOID, ("UBOB",), "regclean", "The plan changed after this request was made"),
    ],
)
def test_a_closed_request_says_its_outcome_and_has_no_buttons(
    state: RequestState, approvals: tuple[str, ...], closed_by: str | None, outcome: str
) -> None:
    the_notice = notice(request(state, approvals, closed_by))
    text, blocks = rendered(the_notice)
    assert outcome in text
    assert buttons(blocks) == {}
    assert "open until" not in text
    assert state.value.split("_")[0] in approval_text(the_notice).lower()


def test_a_request_closed_by_regclean_is_not_called_rejected_by_it() -> None:
    text, _ = rendered(notice(request(RequestState.REJECTED, (), "regclean")))
    assert "Rejected by" not in text


def test_a_long_plan_stays_within_the_limits_and_says_what_it_left_out() -> None:
    backups = tuple(
        PlannedBackup(
            f"node-{i:03d}", f"10.0.{i // 256}.{i % 256}", "/b/" + "a" * 120, i * 1024**2, f"{i:064x}"
        )
        for i in range(200)
    )
    long_plan = plan(backups=backups, window="w" * 5000, command="c" * 5000)
    text, blocks = rendered(notice(request(the_plan=long_plan)))
    assert len(blocks) <= MAX_BLOCKS
    assert "*Backups* of 200 nodes" in text
    more = re.search(r"…and (\d+) more nodes\.", text)
    assert more is not None
    shown = sum(f"node-{i:03d}" in text for i in range(200))
    assert shown + int(more.group(1)) == 200
    command = next(
        b["text"]["text"] for b in blocks if "*Runs in the MinIO pod*" in b.get("text", {}).get("text", "")
    )
    assert command.endswith("c" * 1000 + "```") and " … " in command, (
        "only a command longer than a section is cut"
    )
    assert set(buttons(blocks)) == {APPROVE, REJECT}, "the buttons survive a long plan"


def test_missing_values_show_as_a_dash() -> None:
    sparse = plan(
        minio=MinioPod(None, None, None),
        backups=(),
        inventory=PlannedInventory(4, None, None),
        window="",
    )
    text, _ = rendered(notice(request(the_plan=sparse)))
    assert "through the MinIO pod `–`" in text and "snapshot #4: – operators, – plugins" in text
    assert "*Window* –" in text and "*Backups* –" in text


def test_plan_values_and_names_are_escaped_never_interpreted() -> None:
    hostile = plan(
        bucket="<!channel>",
        minio=MinioPod("kube-system", "minio-0` <!here> `", None),
        window="<https://evil.example|click me> & more",
        command="<@UADMIN> s3cr3t&",
        preflight=dataclasses.replace(plan().preflight, custom_ack_by="cli:<root>"),
    )
    text, _ = rendered(notice(request(the_plan=hostile, closed_by="<@UX>", state=RequestState.REJECTED)))
    assert not re.search(r"<!(channel|here)|<https://evil|<@UADMIN>|<@UX>", text)
    assert "&lt;!channel&gt;" in text and "&lt;!here&gt;" in text
    assert "&lt;https://evil.example|click me&gt; &amp; more" in text
    assert "`&lt;@UADMIN&gt; s3cr3t&amp;`" in text
    assert "`cli:&lt;root&gt;`" in text
    assert "minio-0ˋ &lt;!here&gt; ˋ" in text, "a backtick cannot close the code quote early"


MEASURED = BucketMeasure(NOW, objects=1234, bytes=4_509_715_660)


def confirm_of(blocks: list[dict]) -> dict:
    return buttons(blocks)[APPROVE]["confirm"]


def test_the_request_shows_what_the_purge_deletes_as_measured_and_approve_asks_to_confirm_it() -> None:
    text, blocks = rendered(notice(request(measured=MEASURED)))
    stamp = f"<!date^{int(NOW.timestamp())}^{{date_short_pretty}} {{time}}|2025-03-14 09:30:00 UTC>"
    assert f"*Deletes* everything in the bucket: 1,234 objects, 4.2 GiB (measured {stamp})" in text
    confirm = confirm_of(blocks)
    assert confirm["title"]["text"] == "Approve purge request #7?"
    assert confirm["text"]["text"].startswith(
        "This empties the registry bucket `registry`: 1,234 objects, 4.2 GiB, as measured when the request "
        "was made."
    )
    assert "`regclean rollback --plan`" in confirm["text"]["text"]
    assert (confirm["confirm"]["text"], confirm["deny"]["text"]) == ("Approve", "Cancel")


def test_a_versioned_bucket_counts_every_version_and_one_object_is_singular() -> None:
    versions = BucketMeasure(NOW, objects=3210, bytes=1024**3, versions=True)
    text, blocks = rendered(notice(request(measured=versions)))
    assert "3,210 object versions, 1.0 GiB" in text and "every version counts" in text
    assert "3,210 object versions" in confirm_of(blocks)["text"]["text"]
    one, _ = rendered(notice(request(measured=BucketMeasure(NOW, objects=1, bytes=5))))
    assert "1 object, 5 B" in one


def test_a_size_that_could_not_be_measured_says_why_and_the_request_is_complete_otherwise() -> None:
    failed = BucketMeasure(
        NOW, problem="`mc du` of registry in pod minio-0 failed (exit status 1: mc: <Access Denied.>)."
    )
    text, blocks = rendered(notice(request(measured=failed)))
    assert "its size could not be measured" in text
    assert "failed (exit status 1: mc: &lt;Access Denied.&gt;)." in text, "mc's words, escaped"
    assert "Traceback" not in text
    confirm = confirm_of(blocks)["text"]["text"]
    assert confirm.startswith("This empties the registry bucket `registry`. When the last approval is in")
    assert set(buttons(blocks)) == {APPROVE, REJECT}


def test_a_request_stored_before_requests_were_measured_shows_no_size() -> None:
    text, blocks = rendered(notice(request()))
    assert "*Deletes*" not in text
    assert "measured" not in confirm_of(blocks)["text"]["text"]


def test_the_approvers_are_mentioned_only_when_mentions_are_given_for_the_post() -> None:
    mentions = "<@UBOB> <!subteam^S0APPROVE>"
    posted = approval_blocks(notice(), mentions)
    text = valid(approval_text(notice(), mentions), posted)
    assert f"{mentions}: purge request #7 needs 2 approvals." in text
    assert approval_text(notice(), mentions).startswith(mentions)
    updated, _ = rendered(notice())
    assert "<@UBOB>" not in updated and "subteam" not in updated


def test_a_long_bucket_name_keeps_the_confirmation_within_slacks_limit() -> None:
    long_bucket = plan(bucket="b" * 63)
    measured = BucketMeasure(NOW, objects=10**12, bytes=10**15, versions=True)
    _, blocks = rendered(notice(request(the_plan=long_bucket, measured=measured)))
    assert len(confirm_of(blocks)["text"]["text"]) <= 300


@pytest.mark.parametrize(
    ("required", "self_approval", "says"),
    [
        (2, False, "2 distinct approvers must approve this exact plan (not counting the requester)."),
        (2, True, "2 distinct approvers must approve this exact plan (the requester may be one of them)."),
        (1, False, "One approver other than the requester must approve this exact plan"),
        (1, True, "the two-person rule is off (REGCLEAN_SINGLE_APPROVER_ACCEPTED)"),
    ],
)
def test_the_request_says_which_approval_rule_is_in_force(
    required: int, self_approval: bool, says: str
) -> None:
    view = dataclasses.replace(request(), required=required)
    text, _ = rendered(ApprovalNotice(view, GATES, self_approval=self_approval))
    assert says in text


@pytest.mark.parametrize(
    ("state", "summary", "error", "line", "said"),
    [
        (
            StepState.SUCCEEDED,
            "600 objects removed; bucket registry empty",
            None,
            ":white_check_mark: Approved by {approvers}; the purge succeeded at {at}: 600 objects removed; "
            "bucket registry empty.",
            "the purge succeeded",
        ),
        (
            StepState.FAILED,
            None,
            "mc rm exited 1: <b>",
            ":x: Approved by {approvers}; the purge failed at {at}: mc rm exited 1: &lt;b&gt;. "
            "The run's thread says what to do next.",
            "the purge failed",
        ),
        (StepState.INTERRUPTED, None, "the bot stopped", "the purge was interrupted at {at}", "interrupted"),
    ],
)
def test_a_started_request_shows_how_its_purge_ended_not_that_it_started(
    state: StepState, summary: str | None, error: str | None, line: str, said: str
) -> None:
    view = request(RequestState.STARTED, ("UBOB", "UCAROL"), None)
    running = StepView(9, 1, "purge", StepState.RUNNING, "UALICE", NOW, None, None, None)
    text, _ = rendered(dataclasses.replace(notice(view), purge=running))
    assert "the purge is running" in text and "has started" not in text
    ended = dataclasses.replace(running, state=state, finished_at=NOW, summary=summary, error=error)
    the_notice = dataclasses.replace(notice(view), purge=ended)
    text, blocks = rendered(the_notice)
    approvers = text.split("Approved by ")[1].split(";")[0]
    at = f"<!date^{int(NOW.timestamp())}^{{date_short_pretty}} {{time}}|"
    assert line.format(approvers=approvers, at=at).split(at)[0] in text
    assert at in text.split("Approved by ")[1], "the time it ended, in Slack's date format"
    assert "is running" not in text and buttons(blocks) == {}
    assert said in approval_text(the_notice)
