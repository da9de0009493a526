"""The platform registry over the OCI distribution API: what it holds (issue 4, gate 4).

Authentication as a client does it: the first 401 names the scheme (`WWW-Authenticate`);
basic sends the credentials, bearer fetches a token from the realm with them. The password
never appears in an error.
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin

import aiohttp

from actions.errors import RegistryAuthFailed, RegistryError, RegistryUnreachable

PAGE = 1000
_LINK = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')
_PARAM = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True)
class RegistryTarget:
    """Where the registry is and how to log in."""

    address: str
    """`host:port`"""
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    insecure: bool = False
    """Plain HTTP instead of HTTPS."""

    @property
    def base(self) -> str:
        """The registry's base URL."""
        return f"{'http' if self.insecure else 'https'}://{self.address}"


@dataclass(frozen=True)
class RegistryRecord:
    """Every repository and its tags."""

    repositories: dict[str, tuple[str, ...]]

    @property
    def tag_count(self) -> int:
        """How many tags in all."""
        return sum(len(tags) for tags in self.repositories.values())


class RegistryClient:
    """A small distribution API client; use it as an async context manager."""

    def __init__(self, target: RegistryTarget, *, timeout: float = 30.0, page_size: int = PAGE) -> None:
        self.target = target
        self._page_size = page_size
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._authorization: str | None = None

    async def __aenter__(self) -> RegistryClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def record(self) -> RegistryRecord:
        """Read the catalog and every repository's tags."""
        repositories: dict[str, tuple[str, ...]] = {}
        async for repo in self._paged("/v2/_catalog", "repositories"):
            repositories[repo] = tuple([t async for t in self._paged(f"/v2/{repo}/tags/list", "tags")])
        return RegistryRecord(repositories)

    async def _paged(self, path: str, key: str) -> AsyncIterator[str]:
        url: str | None = f"{self.target.base}{path}?{urlencode({'n': self._page_size})}"
        while url is not None:
            body, link = await self._get_json(url)
            for item in body.get(key) or []:
                yield str(item)
            match = _LINK.search(link or "")
            url = urljoin(self.target.base, match.group(1)) if match else None

    async def _get_json(self, url: str) -> tuple[dict[str, Any], str | None]:
        assert self._session is not None, "use RegistryClient as an async context manager"
        for attempt in range(2):
            headers = {"Authorization": self._authorization} if self._authorization else {}
            try:
                async with self._session.get(url, headers=headers) as response:
                    if response.status == 401 and attempt == 0:
                        await self._authenticate(response.headers.get("WWW-Authenticate", ""))
                        continue
                    if response.status == 401:
                        raise RegistryAuthFailed(
                            f"The registry {self.target.address} refused the credentials of "
                            f"{self.target.username or 'an anonymous client'}. Check REGCLEAN_REGISTRY_USERNAME "
                            "and REGCLEAN_REGISTRY_PASSWORD."
                        )
                    if response.status >= 400:
                        raise RegistryError(
                            f"The registry {self.target.address} answered {response.status} for {url}."
                        )
                    return await response.json(content_type=None), response.headers.get("Link")
            except aiohttp.ClientError as exc:
                raise RegistryUnreachable(
                    f"Cannot reach the registry at {self.target.base}: {type(exc).__name__}. "
                    "Check REGCLEAN_REGISTRY (and REGCLEAN_REGISTRY_INSECURE for plain HTTP)."
                ) from None
            except ValueError:
                raise RegistryError(
                    f"The registry {self.target.address} answered {url} with something that is not JSON."
                ) from None
        raise RegistryAuthFailed(f"The registry {self.target.address} kept asking to authenticate.")

    async def _authenticate(self, challenge: str) -> None:
        scheme = challenge.split(" ", 1)[0].lower()
        if self.target.username is None or self.target.password is None:
            raise RegistryAuthFailed(
                f"The registry {self.target.address} requires a login: set REGCLEAN_REGISTRY_USERNAME "
                "and REGCLEAN_REGISTRY_PASSWORD."
            )
        basic = (
            "Basic " + base64.b64encode(f"{self.target.username}:{self.target.password}".encode()).decode()
        )
        if scheme == "basic":
            self._authorization = basic
        elif scheme == "bearer":
            self._authorization = "Bearer " + await self._token(dict(_PARAM.findall(challenge)), basic)
        else:
            raise RegistryAuthFailed(
                f"The registry {self.target.address} asks for an unknown scheme: {scheme}."
            )

    async def _token(self, params: dict[str, str], basic: str) -> str:
        assert self._session is not None
        realm = params.pop("realm", None)
        if not realm:
            raise RegistryAuthFailed(
                f"The registry {self.target.address} sent a bearer challenge without a realm."
            )
        try:
            async with self._session.get(realm, params=params, headers={"Authorization": basic}) as response:
                if response.status in (401, 403):
                    raise RegistryAuthFailed(
                        f"The token service of {self.target.address} refused the credentials of {self.target.username}."
                    )
                body = await response.json(content_type=None)
        except aiohttp.ClientError as exc:
            raise RegistryUnreachable(
                f"Cannot reach the registry's token service: {type(exc).__name__}."
            ) from None
        token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
        if not token:
            raise RegistryAuthFailed(f"The token service of {self.target.address} returned no token.")
        return str(token)
