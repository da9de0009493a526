"""Answering only the person who clicked or typed, through the request's `response_url`.

Bolt's `respond` posts with slack_sdk's default webhook retries, whose jitter draws on the process's
global `random`: a retry would move it under whatever else in the process generates from it. This
posts the same message with the same retry (one more try after a dropped connection) and jitter of
its own (handlers/slack_retry.py).
"""

from __future__ import annotations

import logging

import aiohttp
from slack_bolt.async_app import AsyncRespond
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from slack_sdk.webhook.async_client import AsyncWebhookClient

from handlers.slack_retry import OwnJitter

log = logging.getLogger(__name__)


async def tell(respond: AsyncRespond, text: str) -> None:
    """Answer privately, leaving the message as it is. A request that came without a `response_url`,
    or one Slack no longer takes (expired, used up, unreachable), cannot be answered: one log line
    says so, and the caller goes on."""
    if not respond.response_url:
        log.warning("cannot answer (no response_url): %s", text[:120])
        return
    retries: list[AsyncRetryHandler] = [
        AsyncConnectionErrorRetryHandler(
            interval_calculator=BackoffRetryIntervalCalculator(jitter=OwnJitter())
        )
    ]
    client = AsyncWebhookClient(
        respond.response_url, ssl=respond.ssl, proxy=respond.proxy, retry_handlers=retries
    )
    try:
        answer = await client.send(text=text, response_type="ephemeral", replace_original=False)
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("cannot answer (%s): %s", type(exc).__name__, text[:120])
        return
    if answer.status_code >= 400:
        log.warning("cannot answer (Slack said %d %s): %s", answer.status_code, answer.body[:60], text[:120])
