"""The Web API client's retries, waiting on a clock of the caller's (the sandbox's simulated time).

slack_sdk's retry handlers wait with `asyncio.sleep`: after a 429 for `Retry-After` seconds (plus
up to one at random), after a dropped connection or a 5xx for their backoff. `on_clock` keeps each
handler's decision and its wait, and makes the wait on `sleep`, so a test holding the bot to Slack's
per-minute limits does not wait real minutes (docs/architecture.md, "Slack under its limits").
"""

from __future__ import annotations

import random

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.http_retry.jitter import Jitter
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from handlers.live import Sleep


class OwnJitter(Jitter):
    """slack_sdk's random jitter (up to one second more) drawn from a generator of its own, so that a
    retry never moves the process's global `random` state under someone else's feet (Hypothesis, in
    the tests, refuses a run whose global state changed while it generated an example)."""

    def __init__(self) -> None:
        self._random = random.Random()  # noqa: S311 (jitter, not secrecy)

    def recalculate(self, duration: float) -> float:
        return duration + self._random.random()


class OnClock(AsyncRetryHandler):
    """A retry handler whose waits go through `sleep`; whether to retry is the inner handler's call."""

    def __init__(self, inner: AsyncRetryHandler, sleep: Sleep) -> None:
        calculator = inner.interval_calculator
        if isinstance(calculator, BackoffRetryIntervalCalculator):
            calculator = BackoffRetryIntervalCalculator(calculator.backoff_factor, OwnJitter())
        super().__init__(inner.max_retry_count, calculator)
        self._inner = inner
        self._sleep = sleep
        self._jitter = OwnJitter()

    def __deepcopy__(self, memo: dict[int, object]) -> OnClock:
        return self  # Bolt deep-copies the client for lazy listeners: the copy waits on the same clock

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return await self._inner.can_retry_async(state=state, request=request, response=response, error=error)

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        if response is not None and response.status_code == 429:
            # as slack_sdk's AsyncRateLimitErrorRetryHandler: Retry-After seconds, and up to one more
            after = next((v for k, v in response.headers.items() if k.lower() == "retry-after"), ["1"])
            duration = self._jitter.recalculate(int(after[0]))
        else:
            duration = self.interval_calculator.calculate_sleep_duration(state.current_attempt)
        await self._sleep(duration)
        state.increment_current_attempt()


class EveryServerError(AsyncServerErrorRetryHandler):
    """slack_sdk's server-error handler retries 500 and 503 only; Slack's front end also answers 502
    and 504 when a backend goes away, and a thread reply answered so was lost. Every 5xx is retried.
    (A 504 may come after Slack took the message: a reply shown twice is the lesser harm.)"""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and 500 <= response.status_code <= 599


def on_clock(handlers: list[AsyncRetryHandler], sleep: Sleep) -> list[AsyncRetryHandler]:
    """The same handlers, each waiting through `sleep`."""
    return [OnClock(handler, sleep) for handler in handlers]
