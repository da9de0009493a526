"""Retrying the Kubernetes API's 429 and 5xx answers, within bounds (docs/architecture.md, "Kubernetes API").

client-go retries an answer of 429 or 5xx that carries `Retry-After`, waiting what the header
says, up to 10 times (`checkWait` in `rest/request.go`). API Priority and Fairness sends 429 with
`Retry-After`; an aggregated API whose backend is down sends 503 without it. regclean retries
both: it waits what `Retry-After` says, or else exponentially longer each time, and it stops
after `RetryPolicy.attempts` tries or once the waits would pass `RetryPolicy.budget` seconds.
"""

from __future__ import annotations

import asyncio
import http
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from actions.errors import ApiError

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
"""Too Many Requests, and the 5xx that say "try again"; 501 and 505 will not change by waiting."""
BASE_DELAY = 0.25
"""Seconds before the second attempt when the answer has no `Retry-After`; doubled each time."""
MAX_DELAY = 10.0
"""The longest single wait, `Retry-After` included: a server asking for minutes gets the budget's say."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often, and for how long in all, one request is tried again."""

    attempts: int = 4
    """Tries per request, the first included (1: never retry). Setting `kube_retries`."""
    budget: float = 30.0
    """Seconds of waiting between the tries of one request, summed. Setting `kube_retry_seconds`."""
    base_delay: float = BASE_DELAY
    max_delay: float = MAX_DELAY

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """The wait after failed try number `attempt` (1-based): `Retry-After`, or exponential backoff."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_delay)
        return min(self.base_delay * 2.0 ** (attempt - 1), self.max_delay)


class ApiStatusError(ApiError):
    """The API server answered with an error status; carries what a retry and a report need."""

    def __init__(self, message: str, *, status: int, detail: str, retry_after: float | None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail
        """The server's own words: the Status message, or client-go's for a body that is not one."""
        self.retry_after = retry_after

    @property
    def status_text(self) -> str:
        """`503 Service Unavailable`."""
        return status_text(self.status)

    @property
    def retryable(self) -> bool:
        """Whether waiting may help."""
        return self.status in RETRIED_STATUSES


def status_text(status: int) -> str:
    """The code with its reason phrase, as Go's `http.StatusText` gives it: `429 Too Many Requests`."""
    try:
        return f"{status} {http.HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


async def with_retries(
    call: Callable[[], Awaitable[T]], policy: RetryPolicy, sleep: Sleep = asyncio.sleep, *, what: str
) -> T:
    """`await call()`, trying again on a retryable `ApiStatusError` as `policy` allows.

    The error of the last try is raised as it is, with the tries and the time waited appended.
    """
    waited = 0.0
    attempt = 1
    while True:
        try:
            return await call()
        except ApiStatusError as exc:
            if not exc.retryable:
                raise
            delay = policy.delay(attempt, exc.retry_after)
            if attempt >= policy.attempts or waited + delay > policy.budget:
                if attempt == 1:
                    raise
                raise _gave_up(exc, attempt, waited) from None
            log.info(
                "%s answered %s; trying again in %g s (try %d of %d)",
                what,
                exc.status_text,
                delay,
                attempt + 1,
                policy.attempts,
            )
            await sleep(delay)
            waited += delay
            attempt += 1


def _gave_up(exc: ApiStatusError, attempts: int, waited: float) -> ApiStatusError:
    message = f"{str(exc).rstrip('.')} ({attempts} tries over {waited:g} s)."
    return ApiStatusError(message, status=exc.status, detail=exc.detail, retry_after=exc.retry_after)
