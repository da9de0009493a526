"""`POST /slack/events` in HTTP mode: a request is verified before anything reads its body
(docs/architecture.md, "Requests from Slack").

Bolt parses a request's body when the request object is built, before its own signature check
runs, so an unsigned body that is not what Slack sends made it raise (HTTP 500, a traceback per
request). Here the order is the other way round:

1. The signature (`X-Slack-Signature` over `v0:timestamp:body`, with the signing secret) and the
   timestamp (within five minutes of now, as Slack's documentation asks) are checked on the raw
   bytes: 401 otherwise.
2. A signature seen before within those five minutes is a replay: 401, and nothing runs. Slack's
   own retries carry a new timestamp, and so a new signature.
3. Only then is the body parsed for Bolt: a signed body it cannot read is 400.

Each refusal is one log line, never a traceback, and never the body or the headers' values.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

log = logging.getLogger(__name__)

WINDOW = 300
"""Seconds a request's timestamp may be off from now, as Slack's documentation says to check."""


class ReplayGuard:
    """The signatures of the verified requests of the last `WINDOW` seconds."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._seen: dict[str, float] = {}

    def first_time(self, signature: str) -> bool:
        """Record the signature; False when it was already seen within the window."""
        now = self._now()
        for old in [s for s, until in self._seen.items() if until <= now]:
            del self._seen[old]
        if signature in self._seen:
            return False
        self._seen[signature] = now + 2 * WINDOW  # a timestamp may be up to WINDOW in the future
        return True


def signed(secret: bytes, timestamp: str, body: bytes, signature: str, now: float) -> bool:
    """Slack's `v0` signature: HMAC-SHA256 of `v0:timestamp:body` with the signing secret, over the
    raw bytes, and a timestamp within `WINDOW` seconds of now."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > WINDOW:
        return False
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    # as bytes: compare_digest refuses str with non-ASCII characters, which a forged header may carry
    return hmac.compare_digest(f"v0={digest}".encode(), signature.encode("utf-8", "replace"))


def events_handler(
    bolt: AsyncApp,
    signing_secret: str,
    ready: Callable[[], bool],
    *,
    now: Callable[[], float] = time.time,
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The aiohttp handler of `/slack/events`: 503 until `ready()`, then verified, then Bolt. A body
    larger than the application's `client_max_size` (aiohttp's 1 MiB) is refused by aiohttp (413)."""
    secret = signing_secret.encode()
    replays = ReplayGuard(now)

    async def events(request: web.Request) -> web.Response:
        if not ready():
            return web.json_response({"ok": False, "error": "not_ready"}, status=503)
        body = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp")
        signature = request.headers.get("X-Slack-Signature")
        if not timestamp or not signature:
            return _refuse(request, 401, "no Slack signature")
        if not signed(secret, timestamp, body, signature, now()):
            return _refuse(
                request, 401, "a signature that does not verify, or a timestamp off by more than 5 min"
            )
        if not replays.first_time(signature):
            return _refuse(request, 401, "a replay of a request already received")
        problem = unreadable(body, request.content_type)
        if problem is not None:
            return _refuse(request, 400, f"a signed body that cannot be read: {problem}")
        headers: dict[str, str | Sequence[str]] = {k: request.headers.getall(k) for k in set(request.headers)}
        bolt_request = AsyncBoltRequest(
            body=body.decode("utf-8"), query=request.query_string, headers=headers
        )
        return await to_aiohttp_response(await bolt.async_dispatch(bolt_request))

    return events


def unreadable(body: bytes, content_type: str) -> str | None:
    """Why Bolt could not read this body (None when it can): not UTF-8, or a JSON body or a form's
    `payload` that is not a JSON object. Read as Bolt's `parse_body` reads it, which would raise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if not text:
        return None
    if content_type == "application/json" or text.startswith("{"):
        document, what = text, "the JSON body"
    else:
        payload = dict(parse_qsl(text, keep_blank_values=True)).get("payload")
        if payload is None:
            return None
        document, what = payload, "its payload"
    try:
        parsed = json.loads(document)
    except ValueError:
        return f"{what} is not JSON"
    if not isinstance(parsed, dict):
        return f"{what} is not a JSON object"
    return misshapen(parsed)


#: fields of a payload that Bolt reads into without checking their type, with the type Slack sends
_OBJECTS = (
    "user", "team", "channel", "container", "view", "event", "message", "previous_message", "item",
    "assistant_thread", "function_data", "enterprise", "state",
)  # fmt: skip


def misshapen(payload: dict[str, object]) -> str | None:
    """What in a payload is not of the shape Slack sends and Bolt relies on (None when all is):
    an object field that is not an object, `authorizations` that is not a list of objects, and a
    button click (`block_actions`, `interactive_message`) without the user's id or without its
    actions as objects with an `action_id`."""
    for key in _OBJECTS:
        if key in payload and payload[key] is not None and not isinstance(payload[key], dict):
            return f"its {key} is not an object"
    if "type" in payload and not isinstance(payload["type"], str):
        return "its type is not a string"
    authorizations = payload.get("authorizations")
    if authorizations is not None and not (
        isinstance(authorizations, list) and all(isinstance(a, dict) for a in authorizations)
    ):
        return "its authorizations are not a list of objects"
    if payload.get("type") in ("block_actions", "interactive_message"):
        user = payload.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return "a click without the user who clicked"
        actions = payload.get("actions")
        if not isinstance(actions, list) or not actions:
            return "a click without actions"
        if not all(
            isinstance(a, dict) and isinstance(a.get("action_id", a.get("name")), str) for a in actions
        ):
            return "an action without an action_id"
    return None


def _refuse(request: web.Request, status: int, why: str) -> web.Response:
    log.warning("refused %s %s from %s: %s", request.method, request.path, request.remote, why)
    return web.Response(status=status)
