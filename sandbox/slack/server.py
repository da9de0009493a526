"""The simulator's HTTP surface: routing, request parsing, auth, rate limits, error answers."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from aiohttp import BodyPartReader, web

from sandbox.slack import files, response_url, webapi
from sandbox.slack.models import Rejection
from sandbox.slack.ratelimit import FAULT_RETRY_AFTER
from sandbox.slack.validation import SlackError

if TYPE_CHECKING:
    from sandbox.slack.workspace import SlackWorkspace

WORKSPACE: web.AppKey[SlackWorkspace] = web.AppKey("workspace")
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})


def build_app(workspace: SlackWorkspace) -> web.Application:
    """The aiohttp application serving everything the workspace offers."""
    app = web.Application(client_max_size=1024**3)
    app[WORKSPACE] = workspace
    app.router.add_route("*", "/api/{method}", _api)
    app.router.add_post("/response/{response_id}", _response_url)
    app.router.add_post("/upload/v1/{file_id}", _upload)
    app.router.add_get("/link/", workspace.socket.handle)
    return app


async def read_params(request: web.Request) -> dict[str, Any]:
    """Query string and body merged, as Slack reads them: form, JSON or multipart."""
    params: dict[str, Any] = dict(request.query)
    if request.method != "POST" or not request.body_exists:
        return params
    if request.content_type == "application/json":
        body = await request.json()
        if isinstance(body, dict):
            params.update(body)
    else:  # form-urlencoded or multipart
        params.update((await request.post()).items())
    return params


async def _api(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    method = request.match_info["method"]
    params = await read_params(request)
    token = _token(request, params)
    params.pop("token", None)
    workspace.record_call(method, params)
    fault = workspace.faults.take(method)
    if fault == "drop":
        workspace.record(
            Rejection(method, "connection dropped", "the sandbox closed the connection unanswered")
        )
        assert request.transport is not None
        request.transport.abort()
        return web.Response(status=500)  # never reaches the client: its connection is gone
    if isinstance(fault, int) and fault != 429:
        workspace.record(Rejection(method, f"HTTP {fault}", "Slack's own failure, injected by the sandbox"))
        return web.Response(
            status=fault, text="<html><body>Slack is having trouble.</body></html>", content_type="text/html"
        )
    retry_after = FAULT_RETRY_AFTER if fault == 429 else workspace.retry_after(method, params)
    if retry_after is not None:
        workspace.record(Rejection(method, "ratelimited", f"over the rate limit; Retry-After: {retry_after}"))
        return web.json_response(
            {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": str(retry_after)}
        )
    try:
        handler = webapi.METHODS.get(method) or files.METHODS.get(method)
        if handler is None:
            raise SlackError("unknown_method", f"the sandbox does not implement {method}")
        _authenticate(workspace, method, token)
        if method not in APP_TOKEN_METHODS:
            webapi.check_scope(workspace, method)
        result = await handler(workspace, params)
    except SlackError as exc:
        workspace.record(Rejection(method, exc.error, exc.detail))
        body: dict[str, Any] = {
            "ok": False,
            "error": exc.error,
            "response_metadata": {"messages": [f"[ERROR] {exc.detail}"]},
        }
        if exc.error == "invalid_blocks":
            body["errors"] = [exc.detail]
        if isinstance(exc, webapi.MissingScope):
            body.update(needed=exc.needed, provided=exc.provided)
        return web.json_response(body, headers=_scopes(workspace, method, token))
    return web.json_response({"ok": True, **result}, headers=_scopes(workspace, method, token))


def _scopes(workspace: SlackWorkspace, method: str, token: str | None) -> dict[str, str]:
    """Slack sends the scope headers with every answer to a bot token."""
    return webapi.scope_headers(workspace, method) if token == workspace.bot_token else {}


def _token(request: web.Request, params: dict[str, Any]) -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    token = params.get("token")
    return str(token) if token else None


def _authenticate(workspace: SlackWorkspace, method: str, token: str | None) -> None:
    """Slack's token rules: a bot token for the Web API, the app token for Socket Mode."""
    if not token:
        raise SlackError("not_authed", "no token was sent")
    expected = workspace.app_token if method in APP_TOKEN_METHODS else workspace.bot_token
    if token == expected:
        return
    if token in (workspace.app_token, workspace.bot_token):
        raise SlackError("not_allowed_token_type", f"{method} does not accept this kind of token")
    raise SlackError("invalid_auth", "the token is not valid for this workspace")


async def _response_url(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    raw = await request.text()
    try:
        body = json.loads(raw) if raw else {}
    except ValueError:
        body = None
    status, text = response_url.post(workspace, request.match_info["response_id"], body)
    return web.Response(status=status, text=text)


async def _upload(request: web.Request) -> web.Response:
    workspace = request.app[WORKSPACE]
    if request.content_type == "multipart/form-data":
        content = b""
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and (part.filename or part.name in ("file", "filename")):
                content = bytes(await part.read())
                break
    else:
        content = await request.read()
    status, text = files.receive_upload(workspace, request.match_info["file_id"], content)
    return web.Response(status=status, text=text)
