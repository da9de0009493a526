"""Does the platform's address answer over HTTPS? What `violet push` first needs (`regclean doctor`).

violet has no read-only login (its documented commands are `push`, `show` and `verify`), so the
credentials cannot be proven without a push; this only proves the address answers, with TLS
verified against the system's CAs plus the platform's CA (REGCLEAN_REGISTRY_CA_FILE).
"""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from actions.errors import ActionError
from actions.registry_http import _reason as reason_of
from actions.registry_http import tls_context


@dataclass(frozen=True)
class PlatformAnswer:
    """How the address answered: an HTTP status, or why it did not."""

    status: int | None
    problem: str | None = None


async def probe_platform(url: str, ca_file: str | None, *, seconds: float = 15.0) -> PlatformAnswer:
    """GET the platform's address (no credentials sent); any HTTP status means it answers."""
    try:
        context = tls_context(ca_file)
    except ActionError as exc:
        return PlatformAnswer(None, str(exc))
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=seconds)) as session,
            session.get(url, ssl=context, allow_redirects=False) as response,
        ):
            return PlatformAnswer(response.status)
    except aiohttp.ClientSSLError as exc:
        return PlatformAnswer(None, f"TLS failed: {exc.__class__.__name__} ({_short(exc)})")
    except aiohttp.ClientError as exc:
        return PlatformAnswer(None, reason_of(exc))
    except TimeoutError:
        return PlatformAnswer(None, "timed out")


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text[:160]
