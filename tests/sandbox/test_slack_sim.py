"""The Slack sandbox behaves as real Slack does on the wire, and refuses what real Slack refuses."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import pytest
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError, SlackObjectFormationError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.models.blocks import Block
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from sandbox.people import PEOPLE, TIMEZONES
from sandbox.slack import Message, SlackDriver, SlackWorkspace
from sandbox.slack.webapi import time_zone

BOT = "bot"  # api(): use the workspace's bot token
APPROVAL_BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Purge approval"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Bucket* registry"},
        "fields": [{"type": "mrkdwn", "text": "node-1: ok"}, {"type": "mrkdwn", "text": "node-2: ok"}],
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "expires in 30 min"}]},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {"type": "button", "action_id": "approve", "value": "run-1", "style": "primary",
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": "reject", "value": "run-1",
             "text": {"type": "plain_text", "text": "Reject"}},
        ],
    },
]  # fmt: skip


@pytest.fixture
async def ws() -> AsyncIterator[SlackWorkspace]:
    workspace = SlackWorkspace()
    workspace.add_user("U0ALICE", "alice", real_name="Alice Operator")
    workspace.add_user("U0BOB", "bob")
    await workspace.start()
    yield workspace
    await workspace.stop()


@pytest.fixture
def client(ws: SlackWorkspace) -> AsyncWebClient:
    return AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)


async def api(ws: SlackWorkspace, method: str, token: str | None = BOT, **params: Any) -> dict[str, Any]:
    """A raw Web API call (JSON body), without slack_sdk's client-side checks and warnings."""
    headers = {} if token is None else {"Authorization": f"Bearer {ws.bot_token if token == BOT else token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(ws.api_url + method, json=params, headers=headers) as r,
    ):
        result: dict[str, Any] = await r.json()
        return result


async def post_json(url: str, body: dict[str, Any]) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.post(url, json=body) as response:
        return response.status, await response.text()


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(label: str = "Go", value: str = "v", action_id: str = "go") -> dict[str, Any]:
    return {"type": "actions", "elements": [
        {"type": "button", "action_id": action_id, "value": value, "text": {"type": "plain_text", "text": label}}
    ]}  # fmt: skip


def fields(count: int, length: int = 1) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * length}] * count}


# -- Web API basics -----------------------------------------------------------------------------


async def test_auth_test_names_the_bot_and_its_team(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    result = await client.auth_test()
    assert (result["user_id"], result["team_id"], result["user"]) == ("U0REGCLEAN", "T0SANDBOX", "regclean")


@pytest.mark.parametrize(
    ("method", "token", "error"),
    [
        ("auth.test", "xoxb-wrong", "invalid_auth"),
        ("auth.test", None, "not_authed"),
        ("auth.test", "xapp-sandbox-app", "not_allowed_token_type"),
        ("apps.connections.open", "bot", "not_allowed_token_type"),
        ("chat.shout", "bot", "unknown_method"),
    ],
)
async def test_calls_slack_would_not_authorise_are_refused_and_recorded(
    ws: SlackWorkspace, method: str, token: str | None, error: str
) -> None:
    result = await api(ws, method, token=token)
    assert result["ok"] is False and result["error"] == error
    assert [(r.method, r.error) for r in ws.rejections] == [(method, error)]
    assert ws.calls[-1][0] == method


async def test_post_message_records_the_message_and_threads_replies_under_their_root(
    ws: SlackWorkspace, client: AsyncWebClient
) -> None:
    root = await client.chat_postMessage(channel="#platform-ops", text="Run 1", blocks=APPROVAL_BLOCKS)
    reply = await client.chat_postMessage(channel=ws.channel_id, text="step 1 done", thread_ts=root["ts"])
    nested = await client.chat_postMessage(channel=ws.channel_id, text="details", thread_ts=reply["ts"])
    assert root["channel"] == ws.channel_id
    assert root["ts"] < reply["ts"] < nested["ts"]
    assert [m.text for m in ws.thread(root["ts"])] == ["step 1 done", "details"]
    assert ws.messages[0].blocks == APPROVAL_BLOCKS and ws.messages[0].user == ws.bot_user_id
    assert (
        "chat.postMessage",
        {"channel": "#platform-ops", "text": "Run 1", "blocks": APPROVAL_BLOCKS},
    ) in ws.calls


async def test_message_timestamps_increase_in_slack_format(ws: SlackWorkspace) -> None:
    stamps = [ws.next_ts() for _ in range(3)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    assert stamps[0] == "1700000000.000100"


async def test_unknown_channel_and_malformed_thread_ts_are_refused(ws: SlackWorkspace) -> None:
    assert (await api(ws, "chat.postMessage", channel="C0NOPE", text="x"))["error"] == "channel_not_found"
    for malformed in ("", "0", "1700000000"):  # an empty thread_ts is a classic bug, and Slack refuses it
        result = await api(ws, "chat.postMessage", channel=ws.channel_id, text="x", thread_ts=malformed)
        assert result["error"] == "invalid_thread_ts"
    assert (
        await api(ws, "chat.postMessage", channel=ws.channel_id, text="x", thread_ts="1700000000.000100")
    )["ok"]
    assert [r.error for r in ws.rejections] == ["channel_not_found"] + ["invalid_thread_ts"] * 3


async def test_chat_update_changes_the_message_counts_updates_and_keeps_omitted_blocks(
    ws: SlackWorkspace, client: AsyncWebClient
) -> None:
    posted = await client.chat_postMessage(channel=ws.channel_id, text="v1", blocks=[section("v1")])
    await client.chat_update(channel=ws.channel_id, ts=posted["ts"], text="v2", blocks=[section("v2")])
    await client.chat_update(channel=ws.channel_id, ts=posted["ts"], text="v3")
    (message,) = ws.messages
    assert (message.text, message.blocks, message.updates) == ("v3", [section("v2")], 2)
    with pytest.raises(SlackApiError) as missing:
        await client.chat_update(channel=ws.channel_id, ts="1600000000.000100", text="x")
    assert missing.value.response["error"] == "message_not_found"


async def test_post_ephemeral_needs_a_member_and_is_recorded_for_that_user(
    ws: SlackWorkspace, client: AsyncWebClient
) -> None:
    await client.chat_postEphemeral(channel=ws.channel_id, user="U0ALICE", text="only you")
    assert [(e.user, e.text, e.source) for e in ws.ephemerals] == [
        ("U0ALICE", "only you", "chat.postEphemeral")
    ]
    assert (await api(ws, "chat.postEphemeral", channel=ws.channel_id, user="U0GHOST", text="x"))[
        "error"
    ] == ("user_not_in_channel")
    assert (await api(ws, "chat.postEphemeral", channel=ws.channel_id, text="x"))["ok"] is False


async def test_users_and_usergroups_are_listed_with_handles_and_members(
    ws: SlackWorkspace, client: AsyncWebClient
) -> None:
    ws.add_usergroup("S0APPROVERS", "platform-approvers", ["U0ALICE", "U0BOB"])
    groups = await client.usergroups_list(include_users=True)
    assert [(g["id"], g["handle"], g["users"]) for g in groups["usergroups"]] == [
        ("S0APPROVERS", "platform-approvers", ["U0ALICE", "U0BOB"])
    ]
    assert (await client.usergroups_users_list(usergroup="S0APPROVERS"))["users"] == ["U0ALICE", "U0BOB"]
    assert (await api(ws, "usergroups.users.list", usergroup="S0NOPE"))["error"] == "no_such_subteam"
    user = (await client.users_info(user="U0ALICE"))["user"]
    assert (user["name"], user["real_name"]) == ("alice", "Alice Operator")
    assert (await api(ws, "users.info", user="U0GHOST"))["error"] == "user_not_found"


async def test_users_info_gives_each_persons_time_zone_as_slack_does(
    ws: SlackWorkspace, client: AsyncWebClient
) -> None:
    for user_id, name in PEOPLE.items():
        ws.add_user(user_id, name)
    zones = {uid: (await client.users_info(user=uid))["user"]["tz"] for uid in PEOPLE}
    assert zones == TIMEZONES
    assert len(set(zones.values())) >= 3  # the demo team is spread over several zones
    alice = (await client.users_info(user="UALICE"))["user"]
    assert (alice["tz"], alice["tz_label"], alice["tz_offset"]) == (
        "Asia/Shanghai",
        "China Standard Time",
        8 * 3600,
    )
    stranger = (await client.users_info(user="U0BOB"))["user"]
    assert (stranger["tz"], stranger["tz_offset"]) == ("UTC", 0)


def test_the_time_zone_label_and_offset_follow_daylight_saving_time() -> None:
    winter = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    summer = datetime(2026, 7, 15, 12, 0, tzinfo=UTC)
    assert time_zone("Europe/Berlin", winter) == {
        "tz": "Europe/Berlin",
        "tz_label": "Central European Time",
        "tz_offset": 3600,
    }
    assert time_zone("Europe/Berlin", summer)["tz_label"] == "Central European Summer Time"
    assert time_zone("America/New_York", summer)["tz_offset"] == -4 * 3600
    assert time_zone("Asia/Kolkata", winter)["tz_offset"] == 5 * 3600 + 1800


async def test_rate_limit_answers_429_with_retry_after_and_a_retrying_client_gets_through(
    ws: SlackWorkspace,
) -> None:
    ws.rate_limit("chat.postMessage", 1)
    assert (await api(ws, "chat.postMessage", channel=ws.channel_id, text="first"))["ok"] is True
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            ws.api_url + "chat.postMessage",
            json={"channel": ws.channel_id, "text": "too soon"},
            headers={"Authorization": f"Bearer {ws.bot_token}"},
        ) as response,
    ):
        assert (response.status, response.headers["Retry-After"]) == (429, "1")
    retrying = AsyncWebClient(
        token=ws.bot_token,
        base_url=ws.api_url,
        retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)],
    )
    await retrying.chat_postMessage(channel=ws.channel_id, text="after retry")
    assert [m.text for m in ws.messages] == ["first", "after retry"]
    assert [r.error for r in ws.rejections] == ["ratelimited", "ratelimited"]


# -- validation: what real Slack refuses ---------------------------------------------------------

REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("51 blocks", {"text": "t", "blocks": [section("x")] * 51}, "invalid_blocks"),
    ("section text of 3001", {"text": "t", "blocks": [section("x" * 3001)]}, "invalid_blocks"),
    ("header of 151", {"text": "t", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}]},
     "invalid_blocks"),
    ("button label of 76", {"text": "t", "blocks": [button(label="l" * 76)]}, "invalid_blocks"),
    ("button value of 2001", {"text": "t", "blocks": [button(value="v" * 2001)]}, "invalid_blocks"),
    ("11 fields", {"text": "t", "blocks": [fields(11)]}, "invalid_blocks"),
    ("a field of 2001", {"text": "t", "blocks": [fields(1, 2001)]}, "invalid_blocks"),
    ("action_id of 256", {"text": "t", "blocks": [button(action_id="a" * 256)]}, "invalid_blocks"),
    ("block_id of 256", {"text": "t", "blocks": [{**section("x"), "block_id": "b" * 256}]}, "invalid_blocks"),
    ("unknown block type", {"text": "t", "blocks": [{"type": "frobnicate"}]}, "invalid_blocks"),
    ("unknown element type", {"text": "t", "blocks": [{"type": "actions", "elements": [{"type": "frob"}]}]},
     "invalid_blocks"),
    ("bare string as section text", {"text": "t", "blocks": [{"type": "section", "text": "plain"}]}, "invalid_blocks"),
    ("duplicate block_id", {"text": "t", "blocks": [{**section("a"), "block_id": "b"}] * 2}, "invalid_blocks"),
    ("blocks that are not JSON", {"text": "t", "blocks": "[{"}, "invalid_blocks_format"),
    ("text of 40001", {"text": "x" * 40_001}, "msg_too_long"),
    ("neither text nor blocks", {}, "no_text"),
]  # fmt: skip

ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("50 blocks", {"text": "t", "blocks": [section("x")] * 50}),
    ("section text of 3000", {"text": "t", "blocks": [section("x" * 3000)]}),
    ("header of 150", {"text": "t", "blocks": [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}]}),
    ("button label of 75 and value of 2000", {"text": "t", "blocks": [button(label="l" * 75, value="v" * 2000)]}),
    ("10 fields of 2000", {"text": "t", "blocks": [fields(10, 2000)]}),
    ("ids of 255", {"text": "t", "blocks": [{**button(action_id="a" * 255), "block_id": "b" * 255}]}),
    ("text of 40000", {"text": "x" * 40_000}),
    ("blocks as a JSON string", {"text": "t", "blocks": json.dumps([section("x")])}),
]  # fmt: skip


@pytest.mark.parametrize(("case", "body", "error"), REFUSED, ids=[c[0] for c in REFUSED])
async def test_post_message_is_refused_as_slack_refuses_it(
    ws: SlackWorkspace, case: str, body: dict[str, Any], error: str
) -> None:
    result = await api(ws, "chat.postMessage", channel=ws.channel_id, **body)
    assert (result["ok"], result["error"]) == (False, error)
    assert ws.messages == []
    assert [(r.method, r.error) for r in ws.rejections] == [("chat.postMessage", error)]


@pytest.mark.parametrize(("case", "body"), ACCEPTED, ids=[c[0] for c in ACCEPTED])
async def test_post_message_at_the_limits_is_accepted(
    ws: SlackWorkspace, case: str, body: dict[str, Any]
) -> None:
    result = await api(ws, "chat.postMessage", channel=ws.channel_id, **body)
    assert result["ok"] is True, result
    assert len(ws.messages) == 1 and ws.rejections == []


SDK_CATCHES = [c for c in REFUSED if c[0] in {
    "section text of 3001", "header of 151", "button label of 76", "button value of 2001", "11 fields",
    "action_id of 256", "block_id of 256",
}]  # fmt: skip
INSIDE_ELEMENTS = {"button label of 76", "button value of 2001", "action_id of 256"}


@pytest.mark.parametrize(("case", "body", "error"), SDK_CATCHES, ids=[c[0] for c in SDK_CATCHES])
def test_slack_sdk_to_dict_catches_these_limits_itself(case: str, body: dict[str, Any], error: str) -> None:
    block = Block.parse(body["blocks"][0])
    assert block is not None
    with pytest.raises(SlackObjectFormationError):
        block.to_dict()


@pytest.mark.parametrize("case", sorted(INSIDE_ELEMENTS))
def test_slack_sdk_validate_json_alone_misses_limits_inside_elements(case: str) -> None:
    (body,) = [c[1] for c in REFUSED if c[0] == case]
    block = Block.parse(body["blocks"][0])
    assert block is not None
    block.validate_json()  # shallow: this is why the sandbox validates with to_dict()


def test_slack_sdk_misses_these_so_the_sandbox_checks_them() -> None:
    long_field = Block.parse(fields(1, 2001))
    assert long_field is not None and long_field.to_dict()  # no error: the field limit is ours to check
    assert Block.parse({"type": "frobnicate"}) is None  # skipped, not refused
    coerced = Block.parse({"type": "section", "text": "plain"})
    assert coerced is not None and coerced.to_dict()["text"]["type"] == "mrkdwn"


@pytest.mark.parametrize("method", ["chat.update", "chat.postEphemeral"])
async def test_update_and_ephemeral_are_validated_too(ws: SlackWorkspace, method: str) -> None:
    posted = await api(ws, "chat.postMessage", channel=ws.channel_id, text="ok")
    too_many: dict[str, Any] = {"text": "t", "blocks": [section("x")] * 51}
    result = await api(ws, method, channel=ws.channel_id, ts=posted["ts"], user="U0ALICE", **too_many)
    assert result["error"] == "invalid_blocks"
    assert ws.messages[0].text == "ok" and ws.messages[0].updates == 0 and ws.ephemerals == []


# -- files ---------------------------------------------------------------------------------------


async def test_files_upload_v2_records_the_bytes_and_a_message_in_the_thread(
    ws: SlackWorkspace, client: AsyncWebClient
) -> None:
    root = await client.chat_postMessage(channel=ws.channel_id, text="Run 1")
    content = "cluster,name\nglobal,clickhouse-operator\n"
    result = await client.files_upload_v2(
        channel=ws.channel_id, thread_ts=root["ts"], content=content, filename="operators.csv",
        initial_comment="All operators",
    )  # fmt: skip
    (uploaded,) = ws.files
    assert (uploaded.name, uploaded.content, uploaded.thread_ts) == (
        "operators.csv",
        content.encode(),
        root["ts"],
    )
    assert result["file"]["id"] == uploaded.id
    (reply,) = ws.thread(root["ts"])
    assert (reply.text, reply.files) == ("All operators", [uploaded])
    assert [m for m, _ in ws.calls] == [
        "chat.postMessage", "files.getUploadURLExternal", "files.completeUploadExternal"
    ]  # fmt: skip


async def test_completing_an_upload_whose_bytes_never_arrived_is_refused(ws: SlackWorkspace) -> None:
    reserved = await api(ws, "files.getUploadURLExternal", filename="a.csv", length=3)
    result = await api(ws, "files.completeUploadExternal", files=json.dumps([{"id": reserved["file_id"]}]))
    assert result["error"] == "file_not_found" and ws.files == []


# -- response_url --------------------------------------------------------------------------------


async def test_response_url_is_ephemeral_by_default_and_in_channel_on_request(ws: SlackWorkspace) -> None:
    url = await slash_response_url(ws)
    assert await post_json(url, {"text": "just you"}) == (200, "ok")
    assert await post_json(url, {"text": "everyone", "response_type": "in_channel"}) == (200, "ok")
    assert [(e.user, e.text, e.source) for e in ws.ephemerals] == [("U0ALICE", "just you", "response_url")]
    assert [m.text for m in ws.messages] == ["everyone"]


async def test_response_url_replaces_the_clicked_message_and_refuses_invalid_blocks(
    ws: SlackWorkspace,
) -> None:
    posted = await api(ws, "chat.postMessage", channel=ws.channel_id, text="approve?", blocks=APPROVAL_BLOCKS)
    payload = await click_payload(ws, ws.messages[0])
    assert posted["ts"] == payload["container"]["message_ts"]
    url = payload["response_url"]
    assert await post_json(url, {"text": "t", "blocks": [section("x")] * 51}) == (400, "invalid_blocks")
    assert await post_json(url, {"text": "approved by alice", "replace_original": True}) == (200, "ok")
    assert (ws.messages[0].text, ws.messages[0].blocks, ws.messages[0].updates) == (
        "approved by alice",
        [],
        1,
    )
    assert [(r.method, r.error) for r in ws.rejections] == [("response_url", "invalid_blocks")]
    assert await post_json(url, {"delete_original": True}) == (200, "ok")
    assert ws.messages == [] and "approved by alice" not in ws.transcript()


async def test_response_url_works_five_times_only(ws: SlackWorkspace) -> None:
    url = await slash_response_url(ws)
    statuses = [(await post_json(url, {"text": f"#{i}"}))[0] for i in range(6)]
    assert statuses == [200] * 5 + [404]


# -- wait_for and the transcript -----------------------------------------------------------------


async def test_wait_for_wakes_when_a_message_arrives(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    evaluated = asyncio.Event()

    def done_messages(w: SlackWorkspace) -> list[Message]:
        evaluated.set()
        return [m for m in w.messages if m.text == "done"]

    waiter = asyncio.create_task(ws.wait_for(done_messages))
    await evaluated.wait()  # the waiter has looked once, found nothing, and parked
    assert not waiter.done()
    await client.chat_postMessage(channel=ws.channel_id, text="done")
    (message,) = await asyncio.wait_for(waiter, 5)
    assert message.text == "done"


async def test_wait_for_times_out_with_the_transcript(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    await client.chat_postMessage(channel=ws.channel_id, text="backup of node-1 finished")
    with pytest.raises(TimeoutError, match="backup of node-1 finished"):
        await ws.wait_for(lambda w: len(w.messages) > 1, timeout=0.05)


async def test_transcript_reads_like_the_channel(ws: SlackWorkspace, client: AsyncWebClient) -> None:
    ws.record_user_command("U0ALICE", ws.channel_id, "/regclean purge")
    root = await client.chat_postMessage(channel=ws.channel_id, text="approve?", blocks=APPROVAL_BLOCKS)
    await client.chat_update(channel=ws.channel_id, ts=root["ts"], text="approve?", blocks=APPROVAL_BLOCKS)
    await client.files_upload_v2(
        channel=ws.channel_id, thread_ts=root["ts"], content="abc", filename="plan.csv"
    )
    await client.chat_postEphemeral(channel=ws.channel_id, user="U0BOB", text="you may approve")
    assert ws.transcript() == "\n".join([
        "@alice: /regclean purge",
        "regclean (edited 1×):",
        "  Purge approval",
        "  *Bucket* registry",
        "  • node-1: ok",
        "  • node-2: ok",
        "  expires in 30 min",
        "  [Approve] [Reject]",
        "    ↳ regclean: 📎 plan.csv (3 bytes)",
        "regclean (only visible to @bob): you may approve",
    ])  # fmt: skip


# -- the driver: signatures and payloads ---------------------------------------------------------


@pytest.fixture
async def capture() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], str]]]]:
    """An HTTP endpoint that records what the driver sends and answers 200."""
    seen: list[tuple[dict[str, str], str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append((dict(request.headers), await request.text()))
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", record)
    url, runner = await serve(app)
    yield url, seen
    await runner.cleanup()


async def serve(app: web.Application) -> tuple[str, web.AppRunner]:
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events", runner


async def test_driver_signature_verifies_with_slack_sdk_and_a_forged_one_does_not(
    ws: SlackWorkspace, capture: tuple[str, list[tuple[dict[str, str], str]]]
) -> None:
    url, seen = capture
    driver = SlackDriver(ws, events_url=url)
    await driver.slash("U0ALICE", "status")
    await driver.slash("U0ALICE", "status", signature="forged")
    await driver.slash("U0ALICE", "status", signature="missing", timestamp=int(time.time()) - 600)
    verifier = SignatureVerifier(ws.signing_secret)
    (valid_headers, valid_body), (forged_headers, forged_body), (missing_headers, _) = seen
    assert verifier.is_valid_request(valid_body, valid_headers)
    assert not verifier.is_valid_request(forged_body, forged_headers)
    assert "X-Slack-Signature" not in missing_headers
    assert int(missing_headers["X-Slack-Request-Timestamp"]) < time.time() - 590
    form = {k: v[0] for k, v in parse_qs(valid_body, keep_blank_values=True).items()}
    assert valid_headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert {k: form[k] for k in ("command", "text", "user_id", "user_name", "channel_id", "channel_name")} == {
        "command": "/regclean", "text": "status", "user_id": "U0ALICE", "user_name": "alice",
        "channel_id": "C0RUNBOOK", "channel_name": "platform-ops",
    }  # fmt: skip
    assert form["response_url"].startswith(ws.url + "/response/") and form["trigger_id"]
    assert {"token", "team_id", "team_domain", "api_app_id", "is_enterprise_install"} <= form.keys()


async def test_click_sends_block_actions_for_the_button_in_the_message(
    ws: SlackWorkspace, capture: tuple[str, list[tuple[dict[str, str], str]]]
) -> None:
    url, seen = capture
    await api(ws, "chat.postMessage", channel=ws.channel_id, text="approve?", blocks=APPROVAL_BLOCKS)
    await SlackDriver(ws, events_url=url).click(
        "U0BOB", "approve", "run-1", message=ws.messages[0], retry_num=1
    )
    headers, body = seen[0]
    payload = json.loads(parse_qs(body)["payload"][0])
    assert SignatureVerifier(ws.signing_secret).is_valid_request(body, headers)
    assert (headers["X-Slack-Retry-Num"], headers["X-Slack-Retry-Reason"]) == ("1", "http_timeout")
    assert payload["type"] == "block_actions" and payload["user"]["id"] == "U0BOB"
    assert payload["container"]["message_ts"] == ws.messages[0].ts == payload["message"]["ts"]
    (action,) = payload["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "approve", "decision", "run-1", "button"
    )  # fmt: skip
    with pytest.raises(LookupError):
        await SlackDriver(ws, events_url=url).click("U0BOB", "purge-now", "x", message=ws.messages[0])


async def slash_response_url(ws: SlackWorkspace) -> str:
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(parse_qs(await request.text())["response_url"][0])
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", record)
    url, runner = await serve(app)
    await SlackDriver(ws, events_url=url).slash("U0ALICE", "status")
    await runner.cleanup()
    return seen[0]


async def click_payload(ws: SlackWorkspace, message: Message) -> dict[str, Any]:
    seen: list[dict[str, Any]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(json.loads(parse_qs(await request.text())["payload"][0]))
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/slack/events", record)
    url, runner = await serve(app)
    await SlackDriver(ws, events_url=url).click("U0ALICE", "approve", "run-1", message=message)
    await runner.cleanup()
    return seen[0]


# -- end to end with a real Bolt app -------------------------------------------------------------


def bolt_app(ws: SlackWorkspace, **kwargs: Any) -> AsyncApp:
    """A tiny Bolt app: /regclean acks and responds; Approve acks and replaces the message."""
    app = AsyncApp(client=AsyncWebClient(token=ws.bot_token, base_url=ws.api_url), **kwargs)

    @app.command("/regclean")
    async def command(ack: Callable[..., Awaitable[None]], respond: Any, command: dict[str, Any]) -> None:
        await ack(f"working on {command['text']}")
        await respond(f"done: {command['text']}")

    @app.action("approve")
    async def approve(ack: Callable[..., Awaitable[None]], respond: Any, request: Any) -> None:
        await ack()
        retry = request.headers.get("x-slack-retry-num", ["0"])[0]
        await respond(text=f"approved (retry {retry})", replace_original=True)

    return app


async def test_socket_mode_bolt_app_connects_acks_and_responds(ws: SlackWorkspace) -> None:
    handler = AsyncSocketModeHandler(
        bolt_app(ws),
        app_token=ws.app_token,
        web_client=AsyncWebClient(token=ws.app_token, base_url=ws.api_url),
    )
    await handler.connect_async()
    try:
        driver = SlackDriver(ws)
        await driver.wait_connected()
        reply = await driver.slash("U0ALICE", "status")
        assert (reply.status, reply.json) == (200, {"text": "working on status"})
        await ws.wait_for(lambda w: any(e.text == "done: status" for e in w.ephemerals))
        # The ack and respond() race, as they do against real Slack: compare without order.
        assert sorted((e.text, e.source) for e in ws.ephemerals) == [
            ("done: status", "response_url"), ("working on status", "ack")
        ]  # fmt: skip
        await api(ws, "chat.postMessage", channel=ws.channel_id, text="approve?", blocks=APPROVAL_BLOCKS)
        click = await driver.click("U0BOB", "approve", "run-1", message=ws.messages[0], retry_num=2)
        assert click.status == 200
        await ws.wait_for(lambda w: w.messages[0].updates == 1)
        assert ws.messages[0].text == "approved (retry 2)"
        await ws.socket.disconnect_all()  # Slack asks clients to reconnect every few hours
        await ws.wait_for(lambda w: w.socket.connects == 2 and w.socket.connections)
        assert (await driver.slash("U0ALICE", "again")).status == 200
    finally:
        await handler.close_async()


async def test_socket_mode_envelope_without_ack_times_out_like_slack(ws: SlackWorkspace) -> None:
    opened = await api(ws, "apps.connections.open", token=ws.app_token)
    async with aiohttp.ClientSession() as session, session.ws_connect(opened["url"]) as conn:
        hello = await conn.receive_json()
        assert (hello["type"], hello["connection_info"]["app_id"]) == ("hello", ws.app_id)
        reply = await SlackDriver(ws, ack_timeout=0.2).slash("U0ALICE", "status")
        envelope = await conn.receive_json()
    assert (envelope["type"], envelope["payload"]["text"], envelope["accepts_response_payload"]) == (
        "slash_commands", "status", True
    )  # fmt: skip
    assert (reply.status, reply.body) == (504, "operation_timeout")
    assert "operation_timeout" in ws.transcript()


async def test_http_mode_bolt_app_rejects_forged_and_stale_requests(ws: SlackWorkspace) -> None:
    app = bolt_app(ws, signing_secret=ws.signing_secret)

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await app.async_dispatch(await to_bolt_request(request)))

    server = web.Application()
    server.router.add_post("/slack/events", events)
    url, runner = await serve(server)
    try:
        driver = SlackDriver(ws, events_url=url)
        assert (await driver.slash("U0ALICE", "status", signature="forged")).status == 401
        assert (await driver.slash("U0ALICE", "status", signature="missing")).status == 401
        stale = await driver.slash("U0ALICE", "status", timestamp=int(time.time()) - 600)
        assert stale.status == 401
        valid = await driver.slash("U0ALICE", "status")
        assert (valid.status, valid.body) == (200, "working on status")
        await ws.wait_for(lambda w: any(e.text == "done: status" for e in w.ephemerals))
        assert sorted(e.text for e in ws.ephemerals) == ["done: status", "working on status"]
    finally:
        await runner.cleanup()


async def test_history_lists_top_level_messages_newest_first_with_metadata_only_when_asked() -> None:
    ws = SlackWorkspace()
    await ws.start()
    try:
        client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
        meta = {"event_type": "regclean_run", "event_payload": {"run": 1}}
        first = await client.chat_postMessage(channel=ws.channel_id, text="root", metadata=meta)
        await client.chat_postMessage(channel=ws.channel_id, text="reply", thread_ts=first["ts"])
        second = await client.chat_postMessage(channel=ws.channel_id, text="other")
        plain = await client.conversations_history(channel=ws.channel_id)
        assert [m["ts"] for m in plain["messages"]] == [second["ts"], first["ts"]]
        assert "metadata" not in plain["messages"][1]
        rich = await client.conversations_history(channel=ws.channel_id, include_all_metadata=True, limit=1)
        assert [m["ts"] for m in rich["messages"]] == [second["ts"]] and rich["has_more"] is True
        full = await client.conversations_history(channel=ws.channel_id, include_all_metadata=True)
        assert full["messages"][1]["metadata"] == meta
        with pytest.raises(SlackApiError) as bad:
            await client.chat_postMessage(channel=ws.channel_id, text="x", metadata={"event_type": "x"})
        assert bad.value.response["error"] == "invalid_metadata_format"
    finally:
        await ws.stop()
