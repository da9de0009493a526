"""Request signing as Slack does it (https://api.slack.com/authentication/verifying-requests-from-slack)."""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: int, body: str) -> str:
    """`v0=` + HMAC-SHA256 of `v0:{timestamp}:{body}` keyed with the signing secret."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(secret: str, timestamp: int, body: str) -> dict[str, str]:
    """The two headers Slack adds to every request it sends an app."""
    return {
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": signature(secret, timestamp, body),
    }
