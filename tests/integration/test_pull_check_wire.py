"""The pull check against a registry faked at the wire, for what a real one cannot be made to do on
cue: hold requests to show the concurrency bound, and expire a bearer token."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import BasicAuth, web

from actions.pull_check import PullResult, check_pulls
from actions.registry import RegistryTarget

LAYERS = 9
BLOBS = {f"sha256:{hashlib.sha256(bytes([i])).hexdigest()}": bytes([i]) for i in range(LAYERS + 1)}
DIGESTS = list(BLOBS)
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": DIGESTS[0], "size": 1},
        "layers": [{"mediaType": "application/octet-stream", "digest": d, "size": 1} for d in DIGESTS[1:]],
    }
).encode()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Serve = Callable[[dict[str, Handler]], Awaitable[str]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """Serve GET routes on port 0; returns the `host:port`."""
    runners: list[web.AppRunner] = []

    async def start(routes: dict[str, Handler]) -> str:
        app = web.Application()
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        runner = web.AppRunner(app)
        runners.append(runner)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        return f"127.0.0.1:{runner.addresses[0][1]}"

    yield start
    for runner in runners:
        await runner.cleanup()


async def manifest(_: web.Request) -> web.Response:
    return web.Response(body=MANIFEST, content_type="application/vnd.oci.image.manifest.v1+json")


async def test_blob_downloads_run_concurrently_up_to_the_bound(serve: Serve) -> None:
    """Each blob request is held until `bound` are in flight at once."""
    bound = 3
    in_flight, peak, full = 0, 0, asyncio.Event()

    async def blob(request: web.Request) -> web.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        if in_flight >= bound:
            full.set()
        await asyncio.wait_for(full.wait(), 10)
        in_flight -= 1
        return web.Response(body=BLOBS[request.match_info["digest"]])

    address = await serve({"/v2/app/manifests/{ref}": manifest, "/v2/app/blobs/{digest}": blob})
    [result] = await check_pulls(RegistryTarget(address, plain_http=True), ["app:1"], concurrency=bound)
    assert (result.pullable, result.blobs) == (True, LAYERS + 1)
    assert peak == bound


async def test_an_expired_bearer_token_is_fetched_again_once_and_the_password_stays_at_the_realm(
    serve: Serve,
) -> None:
    issued: list[str] = []
    scopes: list[str] = []
    registry_saw: set[str] = set()

    async def token(request: web.Request) -> web.Response:
        auth = BasicAuth.decode(request.headers["Authorization"])
        if (auth.login, auth.password) != ("admin", "secret"):
            return web.Response(status=401)
        scopes.append(request.query["scope"])
        issued.append(f"token-{len(issued)}")
        return web.json_response({"token": issued[-1]})

    def guarded(handler: Handler) -> Handler:
        async def check(request: web.Request) -> web.StreamResponse:
            registry_saw.add(request.headers.get("Authorization", "").split(" ")[0])
            if not issued or request.headers.get("Authorization") != f"Bearer {issued[-1]}":
                challenge = f'Bearer realm="http://{realm}/token",service="wire",scope="repository:app:pull"'
                return web.Response(status=401, headers={"WWW-Authenticate": challenge})
            return await handler(request)

        return check

    async def blob(request: web.Request) -> web.Response:
        return web.Response(body=BLOBS[request.match_info["digest"]])

    realm = await serve({"/token": token})
    address = await serve(
        {"/v2/app/manifests/{ref}": guarded(manifest), "/v2/app/blobs/{digest}": guarded(blob)}
    )
    target = RegistryTarget(address, "admin", "secret", plain_http=True)

    first, second = await check_pulls(target, ["app:1", "app:2"], concurrency=1)
    assert first.pullable and second.pullable
    assert issued == ["token-0"] and scopes == ["repository:app:pull"]  # one token for the repository

    async def expire_on_the_first_result(result: PullResult) -> None:
        if result.image == "app:1":
            issued.append("token-issued-elsewhere")  # the server now refuses the token it gave us

    results = await check_pulls(
        target, ["app:1", "app:2"], concurrency=1, on_result=expire_on_the_first_result
    )
    assert [r.pullable for r in results] == [True, True]
    assert issued == ["token-0", "token-1", "token-issued-elsewhere", "token-3"]
    assert registry_saw == {"", "Bearer"}  # never Basic: the password goes to the realm only
