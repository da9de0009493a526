"""Who runs the steps and the scheduler: the one process that holds the runner lease.

`Runner` takes the lease (`bot/store/lease.py`) at start-up, or waits for it while another
process holds it, and renews it while it runs. Losing it (another process took it over, or the
database did not answer until it expired) is reported to whoever started the runner, which then
stops. See docs/architecture.md, "One runner".
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from bot.core.errors import RunbookError
from bot.store.lease import LeaseView, RunnerLease

log = logging.getLogger(__name__)


class LeaseHeld(RunbookError):
    """Another process holds the runner lease, and this one was told not to wait for it."""


class Runner:
    """The runner lease as a running bot holds it: `take`, `wait`, `keep`, `release`."""

    def __init__(self, lease: RunnerLease, every: float) -> None:
        self.lease = lease
        self.every = every
        """Seconds between renewals, and between tries while waiting (a third of the lease)."""
        self.held = False
        self.other: LeaseView | None = None
        """Who holds the lease while this process waits, or took it from this one."""
        self.lost: str | None = None
        """Why this process no longer holds the lease it held."""
        self._expires: datetime | None = None
        self._keeper: asyncio.Task[None] | None = None

    async def take(self) -> bool:
        """Take the lease if it can be had now; True when it is ours."""
        view = await asyncio.to_thread(self.lease.acquire)
        self.held = view.holder.id == self.lease.me.id
        self.other = None if self.held else view
        self._expires = view.expires_at if self.held else None
        return self.held

    async def wait(self) -> None:
        """Try every `every` seconds until the lease is ours; log whenever another holder is seen."""
        told = None
        while not await self.take():
            if self.other is not None and self.other.holder != told:
                log.warning("%s", self.waiting())
                told = self.other.holder
            await asyncio.sleep(self.every)
        log.info("took the runner lease (%s)", self.lease.me)

    def waiting(self) -> str:
        """What this process waits for, as the log and `/readyz` say it."""
        other = self.other
        if other is None:
            return "waiting for the runner lease"
        return (
            f"another regclean ({other.holder}) holds the runner lease until "
            f"{other.expires_at.isoformat(timespec='seconds')}; waiting"
        )

    def refusal(self) -> str:
        """Why `regclean serve --no-wait` does not start."""
        return f"{self.waiting().removesuffix('; waiting')}; not waiting (--no-wait)."

    def keep_renewing(self, lost: Callable[[str], None]) -> None:
        """Renew the lease in the background (`keep`) until `stop_renewing`."""
        self._keeper = asyncio.create_task(self.keep(lost))

    async def stop_renewing(self) -> None:
        """Stop the renewals (the lease stays ours until released or expired)."""
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
            self._keeper = None

    async def keep(self, lost: Callable[[str], None]) -> None:
        """Renew the lease every `every` seconds while it is ours; when it is lost, call `lost` with why."""
        while self.held:
            await asyncio.sleep(self.every)
            try:
                renewed = await asyncio.to_thread(self.lease.renew)
            except SQLAlchemyError as exc:
                if self._expires is not None and self.lease.db.clock.now() < self._expires:
                    log.warning("could not renew the runner lease (%s); trying again", type(exc).__name__)
                    continue
                self._lose("the database did not answer until the runner lease expired", lost)
                return
            if renewed:
                self._expires = self.lease.db.clock.now() + self.lease.ttl
                continue
            self.other = await asyncio.to_thread(self.lease.current)
            holder = f"another regclean ({self.other.holder})" if self.other else "nobody (it expired)"
            self._lose(f"the runner lease is now held by {holder}", lost)
            return

    def _lose(self, why: str, lost: Callable[[str], None]) -> None:
        self.held, self.lost = False, why
        lost(why)

    async def release(self) -> None:
        """Give the lease up, if ours (a clean stop): a waiting process takes over at its next try."""
        if not self.held:
            return
        self.held = False
        try:
            await asyncio.to_thread(self.lease.release)
        except SQLAlchemyError as exc:
            log.warning("could not release the runner lease (%s): it expires on its own", type(exc).__name__)
