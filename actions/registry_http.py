"""How regclean speaks HTTP to the platform registry (docs/architecture.md, "The registry over HTTP").

- TLS is verified, always: against the system's CAs plus `ca_file` (the platform's own CA, which
  ACP signs its registry's certificate with). A failed handshake is named for a person: an unknown
  authority, a certificate for another host, an expired one, or a server that does not speak TLS.
- Redirects (distribution answers blob GETs with 307 to a pre-signed storage URL unless
  `storage.redirect.disable`) are followed by hand; the Authorization header never goes to another
  origin (scheme, host and port), where it would hand the registry's credentials to the storage.
- 429 and 500/502/503/504 are tried again, waiting what `Retry-After` says (seconds or an HTTP-date),
  else exponentially longer, within `RetryPolicy`'s tries and seconds; then `RegistryBusy`.
- Any method (GET, HEAD, POST, PUT, PATCH): a body is given as a `Body`, which makes it afresh for
  every try and every 307/308 redirect, so a retried PUT sends its body from the start.
"""

from __future__ import annotations

import asyncio
import http
import logging
import socket
import ssl
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import aiohttp
from yarl import URL

from actions.errors import RegistryError, RegistryUnreachable

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Body = Callable[[], bytes | AsyncIterable[bytes]]
"""Makes a request's body afresh (bytes, or chunks streamed from a file) for every try."""
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Too Many Requests and the 5xx that say "try again"; 501 and 505 do not change by waiting."""
REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
"""As Go's http.Client, which docker and containerd pull with."""
CA_SETTING = "REGCLEAN_REGISTRY_CA_FILE"
PLAIN_SETTING = "REGCLEAN_REGISTRY_PLAIN_HTTP"
_UNKNOWN_AUTHORITY = frozenset({2, 18, 19, 20, 21})
"""OpenSSL's X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT(_LOCALLY), DEPTH_ZERO_SELF_SIGNED_CERT,
SELF_SIGNED_CERT_IN_CHAIN, UNABLE_TO_VERIFY_LEAF_SIGNATURE."""
_WRONG_HOST = frozenset({62, 64})
"""X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH."""
_EXPIRED = frozenset({9, 10})
"""X509_V_ERR_CERT_NOT_YET_VALID, X509_V_ERR_CERT_HAS_EXPIRED."""


class RegistryTlsError(RegistryUnreachable):
    """The TLS handshake with the registry (or its storage) failed; the message names why and the fix."""


class RegistryBusy(RegistryError):
    """The registry kept answering 429 or 5xx past the retry bound."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and for how long in all, one registry request is tried again."""

    attempts: int = 5
    """Tries per request, the first included (1: never retry)."""
    budget: float = 60.0
    """Seconds of waiting between the tries of one request, summed; a `Retry-After` past it gives up."""
    base_delay: float = 0.5
    """Seconds before the second try when the answer has no `Retry-After`; doubled each time."""
    max_delay: float = 16.0
    """The longest wait of the exponential backoff (a `Retry-After` is waited as asked, within the budget)."""
    sleep: Sleep = field(default=asyncio.sleep, repr=False, compare=False)
    now: Callable[[], datetime] = field(default=_utcnow, repr=False, compare=False)
    """The wall clock, to read a `Retry-After` given as an HTTP-date."""

    def delay(self, attempt: int, retry_after: str | None) -> float:
        """The wait after failed try number `attempt` (1-based)."""
        asked = parse_retry_after(retry_after, self.now())
        if asked is not None:
            return asked
        return min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """`Retry-After` in seconds from now: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); None if absent or unreadable."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A verifying client context: the system's CAs, plus the PEM bundle `ca_file` when given."""
    context = ssl.create_default_context()
    if ca_file is None:
        return context
    try:
        context.load_verify_locations(cafile=ca_file)
    except FileNotFoundError:
        raise RegistryError(f"{CA_SETTING} names {ca_file}, which does not exist.") from None
    except ssl.SSLError:  # an OSError too: first
        raise RegistryError(
            f"{CA_SETTING} {ca_file} holds no PEM certificate: give the platform CA's certificate "
            "(-----BEGIN CERTIFICATE-----)."
        ) from None
    except OSError as exc:
        raise RegistryError(f"Cannot read {CA_SETTING} {ca_file}: {exc.strerror}.") from None
    return context


def status_text(status: int) -> str:
    """`503 Service Unavailable`."""
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


class Transport:
    """Requests for one session: redirects followed without credentials off the origin, 429/5xx retried."""

    def __init__(
        self, session: aiohttp.ClientSession, *, ca_file: str | None, retry: RetryPolicy | None = None
    ) -> None:
        self._session = session
        self._ca_file = ca_file
        self._retry = retry or RetryPolicy()

    @asynccontextmanager
    async def get(self, url: str, headers: Mapping[str, str]) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET url; the answer after redirects and retries, any status but a retried one past the bound."""
        async with self.request("GET", url, headers) as response:
            yield response

    @asynccontextmanager
    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: Body | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """`method` url with the body `body()` makes (made again for each try); the answer as `get`'s."""
        response = await self._retried(method, URL(url, encoded=True), headers, body)
        try:
            yield response
        finally:
            response.release()

    async def _retried(
        self, method: str, url: URL, headers: Mapping[str, str], body: Body | None
    ) -> aiohttp.ClientResponse:
        waited = 0.0
        attempt = 1
        while True:
            response = await self._follow(method, url, headers, body)
            if response.status not in RETRIED_STATUSES:
                return response
            status, where = response.status, response.url.host
            delay = self._retry.delay(attempt, response.headers.get("Retry-After"))
            response.release()
            if attempt >= self._retry.attempts or waited + delay > self._retry.budget:
                raise RegistryBusy(
                    f"{where} answered {status_text(status)} {attempt} time(s) over {waited:g} s of "
                    f"waiting (next wait {delay:g} s, bound {self._retry.attempts} tries and "
                    f"{self._retry.budget:g} s): the registry is overloaded or down; try again later."
                )
            log.info(
                "%s answered %s; trying again in %g s (try %d of %d)",
                where, status_text(status), delay, attempt + 1, self._retry.attempts,
            )  # fmt: skip
            await self._retry.sleep(delay)
            waited += delay
            attempt += 1

    async def _follow(
        self, method: str, url: URL, headers: Mapping[str, str], body: Body | None
    ) -> aiohttp.ClientResponse:
        origin = url.origin()
        current, sent = url, dict(headers)
        for _ in range(MAX_REDIRECTS + 1):
            if current.origin() != origin:  # the storage, or anyone else: never the credentials
                sent = {k: v for k, v in sent.items() if k.lower() != "authorization"}
            try:
                response = await self._session.request(
                    method,
                    current,
                    headers=sent,
                    data=None if body is None else body(),
                    allow_redirects=False,
                )
            except aiohttp.ClientError as exc:
                raise self.failure(exc, current) from None
            if response.status == 400 and current.scheme == "http":
                await self._refuse_plain_to_tls(response, current)
            if response.status not in REDIRECTS:
                return response
            location = response.headers.get("Location")
            response.release()
            if not location:
                raise RegistryError(f"{current.host} answered {response.status} without a Location.")
            if response.status in (301, 302, 303) and method not in ("GET", "HEAD"):
                # as Go's client (docker's, containerd's): only 307 and 308 keep the method and body
                method, body = "GET", None
                sent = {k: v for k, v in sent.items() if k.lower() not in ("content-type", "content-length")}
            target = URL(location, encoded=True)
            current = target if target.is_absolute() else current.join(target)
        raise RegistryError(f"More than {MAX_REDIRECTS} redirects from {url.host}{url.path}.")

    async def _refuse_plain_to_tls(self, response: aiohttp.ClientResponse, url: URL) -> None:
        """Go's HTTP server answers a plain request on its TLS port with this 400 (net/http)."""
        try:
            text = (await response.read()).decode(errors="replace")
        except aiohttp.ClientError:
            return
        if "HTTP request to an HTTPS server" in text:
            response.release()
            raise RegistryTlsError(
                f"{url.host}:{url.port} serves HTTPS, but {PLAIN_SETTING} (or REGCLEAN_REGISTRY_INSECURE) "
                f"says plain HTTP: unset it, and set {CA_SETTING} to the PEM bundle of the platform's CA."
            )

    def failure(self, exc: aiohttp.ClientError, url: URL) -> RegistryUnreachable:
        """The error of a request that got no answer: TLS named for a person, else unreachable."""
        host = f"{url.host}:{url.port}"
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return RegistryTlsError(self._certificate_problem(host, exc.certificate_error))
        if isinstance(exc, aiohttp.ClientSSLError):
            reason = str(getattr(exc, "os_error", exc))
            if "WRONG_VERSION_NUMBER" in reason or "record layer failure" in reason:
                return RegistryTlsError(
                    f"TLS handshake with {host} failed: it does not speak TLS. If the registry serves "
                    f"plain HTTP, set {PLAIN_SETTING}=true."
                )
            return RegistryTlsError(f"TLS handshake with {host} failed ({type(exc).__name__}).")
        return RegistryUnreachable(
            f"Cannot reach the registry at {url.scheme}://{host}: {_reason(exc)}. Check REGCLEAN_REGISTRY "
            f"(and {PLAIN_SETTING} if it serves plain HTTP)."
        )

    def _certificate_problem(self, host: str, error: BaseException) -> str:
        code = getattr(error, "verify_code", None)
        said = getattr(error, "verify_message", None) or "verification failed"
        if code in _UNKNOWN_AUTHORITY:
            who = (
                f"neither {CA_SETTING} ({self._ca_file}) nor the system's CAs vouch for"
                if self._ca_file
                else "none of the system's CAs vouches for"
            )
            return (
                f"certificate signed by an unknown authority: {host} presented a certificate that {who} "
                f"({said}); set {CA_SETTING} to the PEM bundle of the platform's CA."
            )
        if code in _WRONG_HOST:
            return (
                f"certificate is not valid for {host} (hostname mismatch: {said}): set REGCLEAN_REGISTRY to "
                "the name or address the registry's certificate was issued for."
            )
        if code in _EXPIRED:
            return (
                f"certificate of {host} is outside its validity ({said}): renew the registry's certificate."
            )
        return f"TLS verification of {host} failed: {said}."


def open_session(ca_file: str | None, *, limit: int, timeout: aiohttp.ClientTimeout) -> aiohttp.ClientSession:
    """A session whose every connection verifies TLS with the system's CAs and `ca_file`."""
    connector = aiohttp.TCPConnector(ssl=tls_context(ca_file), limit=limit)
    return aiohttp.ClientSession(connector=connector, timeout=timeout)


def _reason(exc: aiohttp.ClientError) -> str:
    """Why a connection failed, in words: refused, timed out, no such host, or the error's kind."""
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection"
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return "timed out"
    os_error = getattr(exc, "os_error", None)
    if isinstance(os_error, socket.gaierror):
        return "no such host"
    if isinstance(os_error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(os_error, TimeoutError):
        return "timed out"
    if isinstance(os_error, OSError) and os_error.strerror:
        return os_error.strerror.lower()
    return type(exc).__name__
