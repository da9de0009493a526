"""The platform registry over the OCI distribution API: what it holds (gate 5).

Authentication as a client does it: the first 401 names the scheme (`WWW-Authenticate`);
basic sends the credentials, bearer fetches a token from the realm with them (`RegistryAuth`,
shared with the pull check). The password, the Authorization header and tokens never appear in
an error. TLS, redirects and retries are `actions/registry_http.py`'s.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin

import aiohttp
from yarl import URL

from actions.errors import RegistryAuthFailed, RegistryError, RegistryUnreachable
from actions.registry_http import Body, RetryPolicy, Transport, open_session

PAGE = 1000
MAX_PAGES = 10_000
"""Pages of a catalog or tag list followed at most (ten million entries at the default page size)."""
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class RegistryTarget:
    """Where the registry is and how to log in."""

    address: str
    """`host:port`"""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    plain_http: bool = False
    """Plain HTTP instead of HTTPS."""
    ca_file: str | None = None
    """PEM bundle trusted besides the system's CAs (the platform's CA); TLS is always verified."""
    insecure: bool = field(default=False, repr=False, compare=False)
    """The former name of `plain_http`, still accepted from callers (the setting's alias too)."""

    def __post_init__(self) -> None:
        if self.insecure and not self.plain_http:
            object.__setattr__(self, "plain_http", True)

    @property
    def base(self) -> str:
        """The registry's base URL."""
        return f"{'http' if self.plain_http else 'https'}://{self.address}"


@dataclass(frozen=True)
class RegistryRecord:
    """Every repository and its tags."""

    repositories: dict[str, tuple[str, ...]]

    @property
    def tag_count(self) -> int:
        """How many tags in all."""
        return sum(len(tags) for tags in self.repositories.values())


class RegistryAuth:
    """How one session authenticates, learnt from the registry's challenges as a client learns it.

    Basic: once a challenge asked for it, every request carries the credentials. Bearer: a token
    per scope (`repository:acp/core:pull`), fetched from the realm with the credentials, cached,
    and fetched again once when the registry refuses it (it may have expired).
    """

    def __init__(
        self, target: RegistryTarget, session: aiohttp.ClientSession, retry: RetryPolicy | None = None
    ) -> None:
        self.target = target
        self._http = Transport(session, ca_file=target.ca_file, retry=retry)
        self._basic = (
            None
            if target.username is None or target.password is None
            else "Basic " + base64.b64encode(f"{target.username}:{target.password}".encode()).decode()
        )
        self._scheme: str | None = None
        self._tokens: dict[str, str] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def authorization(self, scope: str) -> str | None:
        """The Authorization header to send for scope, if known."""
        if self._scheme == "basic":
            return self._basic
        return self._tokens.get(scope)

    @asynccontextmanager
    async def get(
        self, url: str, scope: str, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """GET url authenticated for scope (`Transport`: redirects, retries, TLS named); any status
        but 401 is the caller's."""
        async with self.request("GET", url, scope, headers) as response:
            yield response

    @asynccontextmanager
    async def request(
        self,
        method: str,
        url: str,
        scope: str,
        headers: Mapping[str, str] | None = None,
        body: Body | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """`method` url authenticated for scope (`push_scope` to write), the body made afresh by
        `body()` for every try, the one after a 401 included; as `get` otherwise."""
        for attempt in range(2):
            sent = self.authorization(scope)
            async with self._http.request(
                method, url, {**(headers or {}), **({"Authorization": sent} if sent else {})}, body
            ) as response:
                if response.status != 401:
                    yield response
                    return
                challenge = response.headers.get("WWW-Authenticate", "")
            if attempt == 0:
                await self._answer(challenge, scope, sent)
        raise RegistryAuthFailed(
            f"The registry {self.target.address} refused the credentials of "
            f"{self.target.username or 'an anonymous client'}. Check REGCLEAN_REGISTRY_USERNAME "
            "and REGCLEAN_REGISTRY_PASSWORD."
        )

    def unreachable(self, exc: aiohttp.ClientError, url: str) -> RegistryUnreachable:
        """The error of a request to url that broke off: TLS named for a person, else unreachable."""
        return self._http.failure(exc, URL(url))

    async def _answer(self, challenge: str, scope: str, sent: str | None) -> None:
        scheme = challenge.split(" ", 1)[0].lower()
        if self._basic is None:
            raise RegistryAuthFailed(
                f"The registry {self.target.address} requires a login: set REGCLEAN_REGISTRY_USERNAME "
                "and REGCLEAN_REGISTRY_PASSWORD."
            )
        if scheme == "basic":
            self._scheme = "basic"
        elif scheme == "bearer":
            async with self._locks.setdefault(scope, asyncio.Lock()):
                if self._tokens.get(scope) == sent:  # nobody fetched a newer one meanwhile
                    params = dict(_PARAM.findall(challenge))
                    params.setdefault("scope", scope)
                    self._tokens[scope] = "Bearer " + await self._token(params, self._basic)
        else:
            raise RegistryAuthFailed(
                f"The registry {self.target.address} asks for an unknown scheme: {scheme or 'none'}."
            )

    async def _token(self, params: dict[str, str], basic: str) -> str:
        realm = params.pop("realm", None)
        if not realm:
            raise RegistryAuthFailed(
                f"The registry {self.target.address} sent a bearer challenge without a realm."
            )
        where = URL(realm)
        if not trusted_realm(where, URL(self.target.base)):
            raise RegistryAuthFailed(
                f"The registry {self.target.address} sends clients to the token service {where.origin()}, "
                "over plain HTTP on another host: regclean sends the registry's credentials only over "
                "HTTPS, or to the registry's own host."
            )
        url = str(where.update_query(params))
        try:
            async with self._http.get(url, {"Authorization": basic}) as response:
                if response.status in (401, 403):
                    raise RegistryAuthFailed(
                        f"The token service of {self.target.address} refused the credentials of "
                        f"{self.target.username}. Check REGCLEAN_REGISTRY_USERNAME and REGCLEAN_REGISTRY_PASSWORD."
                    )
                if response.status != 200:
                    raise RegistryAuthFailed(
                        f"The token service of {self.target.address} answered {response.status}."
                    )
                body = await response.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise RegistryUnreachable(
                f"Cannot read the token service of {self.target.address}: {type(exc).__name__}."
            ) from None
        except ValueError:
            body = None
        token = (body.get("token") or body.get("access_token")) if isinstance(body, dict) else None
        if not token:
            raise RegistryAuthFailed(f"The token service of {self.target.address} returned no token.")
        return str(token)


class RegistryClient:
    """A small distribution API client; use it as an async context manager."""

    def __init__(
        self,
        target: RegistryTarget,
        *,
        timeout: float = 30.0,
        page_size: int = PAGE,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.target = target
        self._page_size = page_size
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retry = retry
        self._session: aiohttp.ClientSession | None = None
        self._auth: RegistryAuth | None = None

    async def __aenter__(self) -> RegistryClient:
        self._session = open_session(self.target.ca_file, limit=100, timeout=self._timeout)
        self._auth = RegistryAuth(self.target, self._session, self._retry)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def record(self) -> RegistryRecord:
        """Read the catalog and every repository's tags."""
        repositories: dict[str, tuple[str, ...]] = {}
        async for repo in self._paged("/v2/_catalog", "repositories", "registry:catalog:*"):
            try:
                tags = [t async for t in self._paged(f"/v2/{repo}/tags/list", "tags", pull_scope(repo))]
            except _NotFound:
                # docker-registry lists a repository whose tags are all gone (or whose push never
                # finished) in its catalog, and answers NAME_UNKNOWN for its tags: it has none.
                tags = []
            repositories[repo] = tuple(tags)
        return RegistryRecord(repositories)

    async def catalog_page(self, n: int = 10) -> tuple[str, ...]:
        """The catalog's first page of `n` repositories: one request that proves the registry answers,
        its TLS, the credentials and the right to read the catalog (`regclean doctor`)."""
        body, _ = await self._get_json(
            f"{self.target.base}/v2/_catalog?{urlencode({'n': n})}", "registry:catalog:*"
        )
        return tuple(str(r) for r in body.get("repositories") or [])

    async def _paged(self, path: str, key: str, scope: str) -> AsyncIterator[str]:
        """Follow `Link: rel=next` on the registry's own origin only (it would carry the credentials),
        at most `MAX_PAGES` pages, and never to a page already read (a loop)."""
        url: str | None = f"{self.target.base}{path}?{urlencode({'n': self._page_size})}"
        seen: set[str] = set()
        while url is not None:
            if url in seen:
                raise RegistryError(
                    f"The registry {self.target.address} pages {path} in a loop: its Link header "
                    "points back to a page already read."
                )
            if len(seen) >= MAX_PAGES:
                raise RegistryError(
                    f"The registry {self.target.address} kept paging {path} past {MAX_PAGES} pages of "
                    f"{self._page_size}; regclean stopped there."
                )
            seen.add(url)
            body, link = await self._get_json(url, scope)
            for item in body.get(key) or []:
                yield str(item)
            match = _LINK.search(link or "")
            url = urljoin(self.target.base, match.group(1)) if match else None
            if url is not None and URL(url).origin() != URL(self.target.base).origin():
                raise RegistryError(
                    f"The registry {self.target.address} pages {path} to another origin "
                    f"({URL(url).origin()}); regclean does not send the registry's credentials there."
                )

    async def _get_json(self, url: str, scope: str) -> tuple[dict[str, Any], str | None]:
        assert self._auth is not None, "use RegistryClient as an async context manager"
        try:
            async with self._auth.get(url, scope) as response:
                if response.status == 404 and "/tags/list" in url:
                    raise _NotFound(url)
                if response.status >= 400:
                    raise RegistryError(
                        f"The registry {self.target.address} answered {response.status} for {url}."
                    )
                return await response.json(content_type=None), response.headers.get("Link")
        except aiohttp.ClientError as exc:
            raise self._auth.unreachable(exc, url) from None
        except ValueError:
            raise RegistryError(
                f"The registry {self.target.address} answered {url} with something that is not JSON."
            ) from None


class _NotFound(Exception):
    """A repository's tag list answered 404."""


def trusted_realm(realm: URL, registry: URL) -> bool:
    """Whether the registry's credentials may go to this token realm: over HTTPS, or to the registry's
    own host with its scheme (a plain-HTTP registry, chosen with REGCLEAN_REGISTRY_PLAIN_HTTP, may
    serve its tokens on another port of that host)."""
    if not realm.is_absolute():
        return False
    if realm.scheme == "https":
        return True
    return realm.scheme == registry.scheme and realm.host == registry.host


def pull_scope(repository: str) -> str:
    """The bearer-token scope that lets a client pull from repository."""
    return f"repository:{repository}:pull"


def push_scope(repository: str) -> str:
    """The bearer-token scope that lets a client push to (and pull from) repository."""
    return f"repository:{repository}:pull,push"
