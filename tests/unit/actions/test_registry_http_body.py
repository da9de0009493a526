"""Requests with a body through `Transport`, against small aiohttp servers on port 0: a retried PUT
and a 307 send the whole body again, a 303 turns a POST into a GET, and the credentials never
leave the origin."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from actions.registry_http import RetryPolicy, Transport

BODY = b"".join(bytes([n]) * 4096 for n in range(40))  # 160 KiB in 40 distinct runs


@dataclass
class Got:
    method: str
    path: str
    body: bytes
    authorization: str | None
    content_type: str | None


@dataclass
class Server:
    url: str
    got: list[Got] = field(default_factory=list)


Handler = Callable[[web.Request, Server], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[Server]:
    server = Server("")

    async def record(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        server.got.append(
            Got(
                request.method,
                request.path,
                body,
                request.headers.get("Authorization"),
                request.headers.get("Content-Type"),
            )
        )
        return await handler(request, server)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()


async def chunks() -> AsyncIterator[bytes]:
    for start in range(0, len(BODY), 10_000):
        yield BODY[start : start + 10_000]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def transport(session: aiohttp.ClientSession, waits: list[float]) -> Transport:
    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return Transport(session, ca_file=None, retry=RetryPolicy(sleep=sleep))


async def test_a_put_answered_503_is_sent_again_from_its_first_byte(session: aiohttp.ClientSession) -> None:
    async def busy_once(request: web.Request, server: Server) -> web.StreamResponse:
        return web.Response(status=503 if len(server.got) == 1 else 201, headers={"Retry-After": "2"})

    waits: list[float] = []
    async with serve(busy_once) as server:
        headers = {"Authorization": "Bearer t", "Content-Length": str(len(BODY))}
        async with transport(session, waits).request("PUT", f"{server.url}/up", headers, chunks) as answer:
            assert answer.status == 201
        assert [(g.method, g.body == BODY) for g in server.got] == [("PUT", True), ("PUT", True)]
    assert waits == [2.0]


async def test_a_307_to_another_origin_gets_the_body_again_but_not_the_credentials(
    session: aiohttp.ClientSession,
) -> None:
    async def stored(request: web.Request, server: Server) -> web.StreamResponse:
        return web.Response(status=201)

    async with serve(stored) as storage:

        async def moved(request: web.Request, server: Server) -> web.StreamResponse:
            return web.Response(status=307, headers={"Location": f"{storage.url}/bucket/key"})

        async with serve(moved) as registry:
            headers = {"Authorization": "Basic secret", "Content-Type": "application/octet-stream"}
            async with transport(session, []).request(
                "PUT", f"{registry.url}/v2/x", headers, chunks
            ) as answer:
                assert answer.status == 201
            assert [(g.method, g.authorization) for g in registry.got] == [("PUT", "Basic secret")]
            assert registry.got[0].body == BODY
        assert [(g.method, g.path, g.authorization, g.body == BODY) for g in storage.got] == [
            ("PUT", "/bucket/key", None, True)
        ]


async def test_a_303_turns_a_post_into_a_get_without_its_body(session: aiohttp.ClientSession) -> None:
    async def see_other(request: web.Request, server: Server) -> web.StreamResponse:
        if request.method == "POST":
            return web.Response(status=303, headers={"Location": "/result"})
        return web.Response(status=200, text="done")

    async with serve(see_other) as server:
        headers = {"Content-Type": "application/json"}
        async with transport(session, []).request(
            "POST", f"{server.url}/start", headers, lambda: b"{}"
        ) as answer:
            assert (answer.status, await answer.text()) == (200, "done")
        assert [(g.method, g.path, g.body, g.content_type) for g in server.got] == [
            ("POST", "/start", b"{}", "application/json"),
            ("GET", "/result", b"", None),
        ]
