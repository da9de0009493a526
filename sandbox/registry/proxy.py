"""A small reverse proxy in front of a sandbox server: it records what reaches it, and it can play a
registry under load.

- In front of the S3 server (the registry's `regionendpoint`), it is a recording tap: every request
  that reaches "the storage" is kept (method, path, query, headers), the registry's own signed
  requests and a client's GETs of pre-signed URLs alike, so a test can see what the storage saw.
- In front of the registry, `busy(first=N, status=…)` makes it a STAND-IN for a registry under
  load, or behind a load balancer that sheds it: the first N requests are answered with that status
  (429 Too Many Requests or 503 Service Unavailable) and a `Retry-After` header, in distribution's
  JSON error form, without reaching the registry; later ones pass through.

Requests and answers pass unchanged otherwise (the Host header too, so the registry builds its URLs
and S3 signatures hold), bodies streamed, content encodings untouched.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization"}
)
_DISTRIBUTION_ERROR = {
    429: ("TOOMANYREQUESTS", "too many requests"),
    503: ("UNAVAILABLE", "service unavailable"),
}


@dataclass(frozen=True)
class Seen:
    """One request as it reached the proxy."""

    method: str
    path: str
    query: str
    headers: CIMultiDictProxy[str]


@dataclass
class _Busy:
    left: int
    status: int
    retry_after: str | None
    method: str | None = None
    answered: int = 0


class Proxy:
    """A reverse proxy to `upstream` (`http://…`, or `https://…` verified with `upstream_ssl`), on
    127.0.0.1 and a free port once started: `url`, `address`. `seen` lists the requests it got."""

    def __init__(self, upstream: str, *, upstream_ssl: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream
        self.upstream_ssl = upstream_ssl
        self.seen: list[Seen] = []
        self._busy: _Busy | None = None
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._port = 0

    @property
    def address(self) -> str:
        if not self._port:
            raise RuntimeError("proxy is not started")
        return f"127.0.0.1:{self._port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def answered_busy(self) -> int:
        """How many requests got the busy answer so far."""
        return self._busy.answered if self._busy is not None else 0

    def busy(
        self, first: int, *, status: int = 503, retry_after: str | None = "1", method: str | None = None
    ) -> None:
        """Answer the next `first` requests (of `method` only, when given) with `status` and
        `Retry-After: retry_after` (seconds or an HTTP-date; None: no header), as a registry under
        load does, after reading their bodies; then pass requests through again."""
        self._busy = _Busy(first, status, retry_after, method)

    async def start(self) -> None:
        connector = aiohttp.TCPConnector(ssl=self.upstream_ssl or True)
        self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        app = web.Application(client_max_size=1 << 30)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", self._port)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.path, request.query_string, request.headers))
        busy = self._busy
        if busy is not None and busy.left > 0 and busy.method in (None, request.method):
            busy.left -= 1
            busy.answered += 1
            await request.read()
            return _busy_answer(busy)
        assert self._session is not None
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP)
        target = URL(self.upstream.rstrip("/") + request.rel_url.raw_path_qs, encoded=True)
        body = await request.read() if request.body_exists else None
        async with self._session.request(
            request.method, target, headers=headers, data=body, allow_redirects=False
        ) as upstream:
            answer = web.StreamResponse(status=upstream.status, reason=upstream.reason)
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                    answer.headers.add(key, value)
            if upstream.content_length is not None:
                answer.content_length = upstream.content_length
            await answer.prepare(request)
            if request.method != "HEAD":
                async for chunk in upstream.content.iter_any():
                    await answer.write(chunk)
            await answer.write_eof()
            return answer


def _busy_answer(busy: _Busy) -> web.Response:
    code, message = _DISTRIBUTION_ERROR.get(busy.status, ("UNKNOWN", "unknown error"))
    headers = {"Retry-After": busy.retry_after} if busy.retry_after is not None else {}
    return web.json_response(
        {"errors": [{"code": code, "message": message, "detail": "sandbox: a registry under load"}]},
        status=busy.status,
        headers=headers,
    )
