"""Request signing as Slack does it (https://api.slack.com/authentication/verifying-requests-from-slack)."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: int, body: str | bytes) -> str:
    """`v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}` keyed with the signing secret, over the bytes sent."""
    base = f"v0:{timestamp}:".encode() + (body.encode() if isinstance(body, str) else body)
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: str | bytes) -> dict[str, str]:
    """The two headers Slack adds to every request it sends an app."""
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(secret, timestamp, body),
    }
