"""Socket Mode: the WebSocket that apps.connections.open points at, and envelope delivery."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from typing import TYPE_CHECKING, Any

from aiohttp import WSMsgType, web

if TYPE_CHECKING:
    from sandbox.slack.workspace import SlackWorkspace


class NoSocketModeClient(RuntimeError):
    """An envelope was to be sent but no app is connected over Socket Mode."""


class SocketHub:
    """The open Socket Mode connections and the envelopes waiting for their ack."""

    def __init__(self, workspace: SlackWorkspace) -> None:
        self.workspace = workspace
        self.connections: list[web.WebSocketResponse] = []
        self.connects = 0  # how many connections said hello so far, reconnects included
        self._tickets: set[str] = set()
        self._ticket_ids = itertools.count(1)
        self._acks: dict[str, asyncio.Future[dict[str, Any]]] = {}

    def issue_url(self) -> str:
        """A one-time ws:// URL on this server, as apps.connections.open returns."""
        ticket = f"ticket-{next(self._ticket_ids)}-{uuid.uuid4().hex[:12]}"
        self._tickets.add(ticket)
        base = self.workspace.url.replace("http://", "ws://", 1)
        return f"{base}/link/?ticket={ticket}&app_id={self.workspace.app_id}"

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The WebSocket endpoint: say hello, then collect acks until the client leaves."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            return web.Response(status=401, text="invalid or used ticket")
        self._tickets.discard(ticket)
        # autoping answers the SDK's "sdk-ping-pong" pings, which it uses to judge the link healthy.
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self.connections.append(ws)
        try:
            await ws.send_json(self._hello())
            self.connects += 1
            self.workspace.notify()
            async for frame in ws:
                if frame.type == WSMsgType.TEXT:
                    self._on_text(frame.data)
        finally:
            self.connections.remove(ws)
            self.workspace.notify()
        return ws

    def _hello(self) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": len(self.connections),
            "debug_info": {
                "host": "applink-sandbox",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.workspace.app_id},
        }

    def _on_text(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return  # real Slack ignores garbage too; the missing ack shows up in the driver
        future = self._acks.get(message.get("envelope_id", "")) if isinstance(message, dict) else None
        if future is not None and not future.done():
            future.set_result(message)

    async def send(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        wait_seconds: float,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
    ) -> dict[str, Any] | None:
        """Deliver an envelope to the newest connection; its ack, or None when none came in time."""
        open_connections = [ws for ws in self.connections if not ws.closed]
        if not open_connections:
            raise NoSocketModeClient("no Socket Mode client is connected to the Slack sandbox")
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": True,
        }
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason or "timeout"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._acks[envelope_id] = future
        try:
            await open_connections[-1].send_json(envelope)
            return await asyncio.wait_for(future, wait_seconds)
        except TimeoutError:
            return None
        finally:
            del self._acks[envelope_id]

    async def disconnect_all(self, reason: str = "refresh_requested") -> None:
        """Ask clients to reconnect, as Slack does every few hours: a disconnect message, then close."""
        # Only the connections open now: the clients' replacements must stay open.
        leaving = list(self.connections)
        for ws in leaving:
            await ws.send_json(
                {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-sandbox"}}
            )
        for ws in leaving:
            await ws.close()

    async def close_all(self) -> None:
        """Close every connection."""
        for ws in list(self.connections):
            await ws.close()
