"""The Slack Web API client, counted: calls, retries and failures go to the bot's metrics (bot/metrics.py).

`counted_client` builds the one AsyncWebClient the bot posts with (docs/architecture.md, "Logs and
metrics"): every call is counted by method, every retry slack_sdk makes by its reason, and every
call that still fails after its retries by method and Slack's error code (or the exception's type).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.metrics import Metrics
from handlers.slack_retry import EveryServerError


class CountedRetries(AsyncRetryHandler):
    """One of slack_sdk's retry handlers, unchanged, with each retry it makes counted under `reason`."""

    def __init__(self, inner: AsyncRetryHandler, reason: str, metrics: Metrics) -> None:
        super().__init__(inner.max_retry_count, inner.interval_calculator)
        self._inner = inner
        self._retried = metrics.slack_retries.labels(reason)

    def __deepcopy__(self, memo: dict[int, object]) -> CountedRetries:
        return self  # shared by a deep copy of the client (Bolt makes one for lazy listeners)

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        # Counted on the decision, not in the wait: a wrapper may wait its own way
        # (handlers/slack_retry.py) and slack_sdk retries whenever a handler says it can.
        retry = await self._inner.can_retry_async(
            state=state, request=request, response=response, error=error
        )
        if retry:
            self._retried.inc()
        return retry

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        await self._inner.prepare_for_next_attempt_async(
            state=state, request=request, response=response, error=error
        )


class CountedWebClient(AsyncWebClient):
    """An AsyncWebClient whose every API call (Bolt's, the notifier's) is counted."""

    metrics: Metrics | None = None

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        metrics = self.metrics
        if metrics is None:
            return await super().api_call(api_method, **kwargs)
        metrics.slack_calls.labels(api_method).inc()
        try:
            return await super().api_call(api_method, **kwargs)
        except SlackApiError as exc:
            error = exc.response.get("error") if exc.response is not None else None
            metrics.slack_failures.labels(api_method, str(error or "unknown")).inc()
            raise
        except Exception as exc:
            metrics.slack_failures.labels(api_method, type(exc).__name__).inc()
            raise


def counted_client(token: str | None, base_url: str, metrics: Metrics) -> AsyncWebClient:
    """The bot's Web API client: slack_sdk's three retry handlers (a list given replaces its default
    of connection errors alone: dropped connections, any 5xx from Slack, and 429 with its Retry-After),
    every call, retry and failure counted."""
    client = CountedWebClient(
        token=token,
        base_url=base_url,
        retry_handlers=[
            CountedRetries(AsyncConnectionErrorRetryHandler(max_retry_count=3), "connection_error", metrics),
            CountedRetries(EveryServerError(max_retry_count=3), "server_error", metrics),
            CountedRetries(AsyncRateLimitErrorRetryHandler(max_retry_count=5), "rate_limited", metrics),
        ],
    )
    client.metrics = metrics
    return client
