"""The purge request as the channel sees it: the plan, the count, and buttons only while it is open."""

from __future__ import annotations

import dataclasses
import re

import pytest

from bot.steps.approval.model import RequestState
from bot.steps.approval.plan import MinioPod, PlannedBackup, PlannedInventory
from bot.steps.purge.model import ApprovalNotice
from handlers.blocks.approval import APPROVE, REJECT, approval_blocks, approval_text
from handlers.blocks.tables import MAX_BLOCKS
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
    assert "*Also in the plan*\n*command* `. /etc/config/minio.env &amp;&amp; mc --insecure alias set" in text
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
    assert found[APPROVE]["style"] == "primary" and "confirm" not in found[APPROVE]
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
            "Approved by <@UBOB> and <@UCAROL>; the purge has started.",
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
    assert "*command* `" + "c" * 199 + "…`" in text, "a long value is cut"
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
