"""The registry's credentials stay with its origin: a `Link` to another origin, a token realm over
plain HTTP on another host, and a `Link` that pages in a loop are refused (small aiohttp servers on
127.0.0.1 and 127.0.0.2 stand in for a hostile registry and the place it points to)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from yarl import URL

from actions.errors import RegistryAuthFailed, RegistryError
from actions.registry import RegistryClient, RegistryTarget, trusted_realm

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@asynccontextmanager
async def serve(host: str, handler: Handler, seen: list[web.Request]) -> AsyncIterator[str]:
    async def record(request: web.Request) -> web.StreamResponse:
        seen.append(request)
        return await handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", record)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    try:
        yield f"{host}:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def elsewhere_answers(request: web.Request) -> web.StreamResponse:
    return web.json_response({"repositories": ["stolen"], "token": "t"})


def target(address: str) -> RegistryTarget:
    return RegistryTarget(address, "admin", "CANARY-password", plain_http=True)


async def test_a_link_to_another_origin_is_not_followed_with_the_credentials() -> None:
    outside: list[web.Request] = []
    inside: list[web.Request] = []
    async with serve("127.0.0.2", elsewhere_answers, outside) as other:

        async def registry(request: web.Request) -> web.StreamResponse:
            if "Authorization" not in request.headers:
                return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="r"'})
            link = f'<http://{other}/v2/_catalog?n=1&last=a>; rel="next"'
            return web.json_response({"repositories": ["a"]}, headers={"Link": link})

        async with serve("127.0.0.1", registry, inside) as address, RegistryClient(target(address)) as client:
            with pytest.raises(RegistryError, match="to another origin") as err:
                await client.record()
    assert outside == [], "nothing went to the other origin"
    assert "CANARY" not in str(err.value)


async def test_a_link_that_points_back_is_a_loop_and_stops_at_once() -> None:
    seen: list[web.Request] = []

    async def registry(request: web.Request) -> web.StreamResponse:
        if "Authorization" not in request.headers:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return web.json_response(
            {"repositories": ["a"]}, headers={"Link": f'<{request.path_qs}>; rel="next"'}
        )

    async with serve("127.0.0.1", registry, seen) as address, RegistryClient(target(address)) as client:
        with pytest.raises(RegistryError, match="in a loop"):
            await client.record()
    assert len(seen) <= 3  # the challenge, the page, and no more


async def test_a_token_realm_over_plain_http_on_another_host_never_gets_the_credentials() -> None:
    outside: list[web.Request] = []
    inside: list[web.Request] = []
    async with serve("127.0.0.2", elsewhere_answers, outside) as other:

        async def registry(request: web.Request) -> web.StreamResponse:
            challenge = f'Bearer realm="http://{other}/token",service="registry"'
            return web.Response(status=401, headers={"WWW-Authenticate": challenge})

        async with serve("127.0.0.1", registry, inside) as address, RegistryClient(target(address)) as client:
            with pytest.raises(RegistryAuthFailed, match="over plain HTTP on another host"):
                await client.record()
    assert outside == []


@pytest.mark.parametrize(
    ("realm", "registry", "trusted"),
    [
        ("https://auth.example/token", "https://registry.example", True),
        ("https://auth.example/token", "http://registry.example", True),
        ("http://registry.example:5001/token", "http://registry.example:5000", True),
        ("http://auth.example/token", "http://registry.example", False),
        ("http://registry.example/token", "https://registry.example", False),
        ("/token", "https://registry.example", False),
    ],
)
def test_which_token_realms_get_the_credentials(realm: str, registry: str, trusted: bool) -> None:
    assert trusted_realm(URL(realm), URL(registry)) is trusted
