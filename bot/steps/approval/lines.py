"""The log lines of the two-person rule: each request and each click, with the plan's fingerprint.

They carry the run (the request's, not the task's) and an `event` field, `purge.request`,
`purge.approval` or `purge.reject`, so a log search finds every decision about one plan.
"""

from __future__ import annotations

import logging

from bot.steps.approval.model import Click, RequestView

log = logging.getLogger("bot.steps.approval")


def log_request(view: RequestView) -> None:
    """A purge request was opened."""
    log.info(
        "purge request #%d by %s for plan %s",
        view.id,
        view.requester,
        view.fingerprint,
        extra={
            "run": view.run_id,
            "fields": {
                "event": "purge.request",
                "request": view.id,
                "actor": view.requester,
                "fingerprint": view.fingerprint,
            },
        },
    )


def log_click(kind: str, request_id: int, user: str, click: Click, view: RequestView | None) -> None:
    """An Approve (`kind` "approval") or Reject ("reject") click and what came of it; `view` is the
    request after the click, None when the click named no request."""
    if view is None:
        log.info("purge %s by %s names no request (#%d): %s", kind, user, request_id, click.outcome)
        return
    log.info(
        "purge %s of request #%d by %s: %s (%d of %d approvals)",
        kind,
        request_id,
        user,
        click.outcome,
        len(view.approvals),
        view.required,
        extra={
            "run": view.run_id,
            "fields": {
                "event": f"purge.{kind}",
                "request": request_id,
                "actor": user,
                "outcome": str(click.outcome),
                "fingerprint": view.fingerprint,
            },
        },
    )
