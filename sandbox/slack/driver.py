"""A person at the keyboard: sends slash commands and button clicks as Slack would deliver them."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp

from sandbox.slack import payloads
from sandbox.slack.models import Ephemeral, Message, Rejection
from sandbox.slack.response_url import ResponseTarget
from sandbox.slack.signing import signed_headers
from sandbox.slack.validation import SlackError, parse_blocks, validate_message
from sandbox.slack.webapi import post_message
from sandbox.slack.workspace import SlackWorkspace

# Slack gives an app three seconds to acknowledge, then shows the user "operation_timeout".
SLACK_ACK_TIMEOUT = 3.0
WRONG_SECRET = "not-the-signing-secret"


@dataclass
class DriverReply:
    """How the app answered: HTTP status and body, or (Socket Mode) 200 and the ack's payload."""

    status: int
    body: str
    json: dict[str, Any] | None


class SlackDriver:
    """Sends signed requests as any user: over HTTP to events_url, or else over Socket Mode."""

    def __init__(
        self,
        workspace: SlackWorkspace,
        *,
        events_url: str | None = None,
        ack_timeout: float = SLACK_ACK_TIMEOUT,
    ) -> None:
        self.workspace = workspace
        self.events_url = events_url
        self.ack_timeout = ack_timeout
        self.last_sent: tuple[bytes, dict[str, str]] | None = None
        """The last HTTP request sent, body and headers: what someone on the path could capture."""

    async def wait_connected(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109 (the contract)
        """Until a Socket Mode client has connected and received hello."""
        await self.workspace.wait_for(lambda ws: ws.socket.connections and ws.socket.connects > 0, timeout)

    async def slash(
        self,
        user_id: str,
        text: str,
        *,
        command: str = "/regclean",
        channel_id: str | None = None,
        signature: Literal["valid", "forged", "missing"] = "valid",
        timestamp: int | None = None,
    ) -> DriverReply:
        """Type `command text` in a channel; what the app's ack says is shown to the user."""
        ws = self.workspace
        channel = channel_id or ws.channel_id
        ws.record_user_command(user_id, channel, f"{command} {text}".rstrip())
        url = ws.response_urls.issue(ws.url, ResponseTarget(channel, user_id, None, None))
        form = payloads.slash_command(ws, user_id, command, text, channel, url)
        if self.events_url is not None:
            reply = await self._post(urlencode(form), signature=signature, timestamp=timestamp)
        else:
            self._refuse_http_only_options(signature, timestamp)
            reply = await self._socket("slash_commands", form, None)
        self._note_ack(user_id, channel, reply)
        if reply.status == 200 and reply.body:
            self._show_ack_reply(user_id, channel, reply)
        return reply

    async def click(
        self,
        user_id: str,
        action_id: str,
        value: str,
        *,
        message: Message | None = None,
        block_id: str | None = None,
        channel_id: str | None = None,
        retry_num: int | None = None,
    ) -> DriverReply:
        """Press a button; with message, the button must be in it (real Slack cannot click a missing one)."""
        ws = self.workspace
        channel = channel_id or (message.channel if message is not None else ws.channel_id)
        # Slack fills in a block_id for blocks sent without one; so does the sandbox.
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": block_id or secrets.token_hex(2),
            "type": "button",
        }
        label = action_id
        if message is not None:
            found = payloads.find_button(message, action_id, block_id)
            if found is None:
                raise LookupError(
                    f"no button {action_id!r} in message {message.ts}: Slack could not send this click"
                )
            found_block_id, element = found
            action["block_id"] = found_block_id or action["block_id"]
            action["text"] = element.get("text")
            if "style" in element:
                action["style"] = element["style"]
            label = str(element.get("text", {}).get("text", action_id))
        action.update(value=value, action_ts=ws.next_ts())
        ws.record_user_command(user_id, channel, f"[{label}]", kind="click")
        message_ts = message.ts if message is not None else ws.next_ts()
        thread_ts = message.thread_ts if message is not None else None
        url = ws.response_urls.issue(ws.url, ResponseTarget(channel, user_id, message_ts, thread_ts))
        payload = payloads.block_actions(
            ws, user_id=user_id, channel_id=channel, action=action, message=message,
            message_ts=message_ts, response_url=url,
        )  # fmt: skip
        if self.events_url is not None:
            body = urlencode({"payload": json.dumps(payload)})
            reply = await self._post(body, signature="valid", timestamp=None, retry_num=retry_num)
        else:
            reply = await self._socket("interactive", payload, retry_num)
        self._note_ack(user_id, channel, reply)  # a click's ack body is ignored by Slack
        return reply

    async def _post(
        self, body: str, *, signature: str, timestamp: int | None, retry_num: int | None = None
    ) -> DriverReply:
        assert self.events_url is not None
        ts = int(time.time()) if timestamp is None else timestamp
        if retry_num is not None and timestamp is None:
            # Slack retries a delivery once the earlier one went unanswered for its ack timeout: the
            # retry is a new request, signed with its own, later timestamp.
            ts += int(SLACK_ACK_TIMEOUT) * retry_num
        secret = WRONG_SECRET if signature == "forged" else self.workspace.signing_secret
        headers = {"Content-Type": "application/x-www-form-urlencoded", **signed_headers(secret, ts, body)}
        if signature == "missing":
            del headers["X-Slack-Signature"]
        if retry_num is not None:
            headers.update({"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"})
        self.last_sent = (body.encode(), headers)
        return await self.post_raw(body.encode(), headers)

    async def replay(self) -> DriverReply:
        """Send the last HTTP request again, byte for byte: an attacker who captured it."""
        assert self.last_sent is not None, "nothing was sent over HTTP yet"
        return await self.post_raw(*self.last_sent)

    async def post_raw(self, body: bytes, headers: dict[str, str], *, sign: bool = False) -> DriverReply:
        """POST body to the events URL as it is, with headers (and Slack's signature when `sign`):
        for bodies Slack would never send."""
        assert self.events_url is not None
        if sign:
            headers = {**headers, **signed_headers(self.workspace.signing_secret, int(time.time()), body)}
        timeout = aiohttp.ClientTimeout(total=self.ack_timeout)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(self.events_url, data=body, headers=headers) as response,
            ):
                text = await response.text()
                return DriverReply(response.status, text, _json_or_none(text))
        except TimeoutError:
            return DriverReply(504, "operation_timeout", None)

    async def _socket(self, kind: str, payload: dict[str, Any], retry_num: int | None) -> DriverReply:
        ack = await self.workspace.socket.send(
            kind, payload, wait_seconds=self.ack_timeout, retry_attempt=retry_num,
            retry_reason="timeout" if retry_num is not None else None,
        )  # fmt: skip
        if ack is None:
            return DriverReply(504, "operation_timeout", None)
        ack_payload = ack.get("payload")
        if isinstance(ack_payload, dict):
            return DriverReply(200, json.dumps(ack_payload), ack_payload)
        return DriverReply(200, "", None)

    @staticmethod
    def _refuse_http_only_options(signature: str, timestamp: int | None) -> None:
        if signature != "valid" or timestamp is not None:
            raise ValueError("signature and timestamp apply to HTTP mode only (Socket Mode is not signed)")

    def _note_ack(self, user_id: str, channel: str, reply: DriverReply) -> None:
        if reply.status == 200:
            self.workspace.record_ack(user_id, channel, acked=True, detail="")
        elif reply.status == 504:
            self.workspace.record_ack(
                user_id,
                channel,
                acked=False,
                detail=f"no ack within {self.ack_timeout:g} s: operation_timeout",
            )
        else:
            self.workspace.record_ack(
                user_id, channel, acked=False, detail=f"HTTP {reply.status} {reply.body[:80]}"
            )

    def _show_ack_reply(self, user_id: str, channel: str, reply: DriverReply) -> None:
        """Slack shows a slash command's ack body to the user (or the channel, for in_channel)."""
        body = reply.json if reply.json is not None else {"text": reply.body}
        try:
            text = None if body.get("text") is None else str(body["text"])
            blocks = parse_blocks(body.get("blocks"))
            if body.get("response_type") == "in_channel":
                post_message(self.workspace, channel, text, blocks, None)
                return
            validate_message(text, blocks)
        except SlackError as exc:
            self.workspace.record(Rejection("ack", exc.error, exc.detail))
            return
        self.workspace.record(Ephemeral(channel, user_id, text or "", blocks or [], None, "ack"))


def _json_or_none(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
