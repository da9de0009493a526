"""What a new process does first for the runs an earlier one left (docs/architecture.md, "The run's
state machine" and "Slack under its limits"): steps that were running become interrupted, every open
request gets its expiry job again, and the newest checklists and requests are shown again as the
store has them."""

from __future__ import annotations

from bot.core.engine import Engine
from bot.core.model import RunView, StepView
from bot.steps.approval.step import ApprovalStep
from bot.steps.close.step import CloseStep
from bot.store.runs import Store


class Restart:
    """The start-up of a process on a store an earlier one used; `bot/app.py` calls it in this order."""

    def __init__(self, engine: Engine, store: Store, approval: ApprovalStep, closing: CloseStep) -> None:
        self._engine = engine
        self._store = store
        self._approval = approval
        self._closing = closing

    async def recover(self) -> list[StepView]:
        """Steps that were running when the bot stopped are interrupted, and said so."""
        return await self._engine.recover()

    async def reschedule_expiries(self) -> int:
        """Every open request has its expiry job."""
        return await self._approval.reschedule_expiries()

    async def show_again(self) -> list[int]:
        """The checklist of the active run and of the newest closed one, and each one's newest purge
        request, shown again as the store has them. An update the previous process could not deliver
        died with it; this one is retried until Slack takes it. Only messages that were posted (their
        place is stored) are shown: a request whose post failed stays void. The runs shown."""
        approvals = self._approval.approvals

        def latest() -> list[tuple[RunView, int | None]]:
            closed = self._closing.last_closed()
            runs = [self._store.active_run(), self._store.run(closed[0]) if closed else None]
            shown = []
            for run in runs:
                if run is not None and run.notifier_ref:
                    request = approvals.latest_request(run.id)
                    posted = request is not None and approvals.request_ref(request) is not None
                    shown.append((run, request if posted else None))
            return shown

        runs = await self._engine.db(latest)
        for run, request in runs:
            await self._engine.show(run)
            if request is not None:
                await self._approval.show(request)
        return [run.id for run, _ in runs]
