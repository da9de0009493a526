"""Injected faults: error statuses, latency, and responses cut off mid-body."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from .unkind import Answer


@dataclass
class _Rule:
    prefix: str
    remaining: int | None
    method: str | None

    def take(self, method: str, path: str) -> bool:
        """Whether this rule fires for a request, using up one of its remaining times."""
        if not path.startswith(self.prefix) or (self.method and self.method != method):
            return False
        if self.remaining is not None:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
        return True


@dataclass
class _Failure(_Rule):
    error: Answer


@dataclass
class _Cut(_Rule):
    nbytes: int


class Faults:
    """The faults currently armed; the first matching rule of each sort fires."""

    def __init__(self) -> None:
        self.latency = 0.0
        self._failures: list[_Failure] = []
        self._cuts: list[_Cut] = []

    def fail(
        self,
        prefix: str,
        error: Answer,
        *,
        times: int | None = None,
        method: str | None = None,
        first: bool = False,
    ) -> None:
        """Answer requests under `prefix` with `error`, `times` times (None: until cleared).

        With `first`, this rule is checked before those armed earlier (throttling comes first in a
        real server's filter chain, before anything answers the request itself).
        """
        rule = _Failure(prefix, times, method, error)
        if first:
            self._failures.insert(0, rule)
        else:
            self._failures.append(rule)

    def cut_after(self, prefix: str, nbytes: int, *, times: int | None = None) -> None:
        """Drop the connection after `nbytes` of the body of responses under `prefix`."""
        self._cuts.append(_Cut(prefix, times, None, nbytes))

    def clear(self) -> None:
        """Disarm every fault and remove latency."""
        self.latency = 0.0
        self._failures.clear()
        self._cuts.clear()

    def failure_for(self, method: str, path: str) -> Answer | None:
        """The error to answer with instead of serving the request, if any."""
        return next((f.error for f in self._failures if f.take(method, path)), None)

    def cut_for(self, method: str, path: str) -> int | None:
        """After how many body bytes to drop this request's connection, if at all."""
        return next((c.nbytes for c in self._cuts if c.take(method, path)), None)


async def send_truncated(request: web.Request, response: web.Response, nbytes: int) -> web.StreamResponse:
    """Send the headers (with the full Content-Length) and `nbytes` of the body, then hang up."""
    body = response.body
    assert isinstance(body, bytes)
    cut = web.StreamResponse(status=response.status, headers=response.headers)
    cut.content_length = len(body)
    await cut.prepare(request)
    await cut.write(body[:nbytes])
    transport = request.transport
    if transport is not None:
        # close() flushes what was written, then hangs up: the client sees a short body.
        transport.close()
    return cut
