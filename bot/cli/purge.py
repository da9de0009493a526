"""`regclean purge`: start the purge of a request that Slack's approvers approved, and nothing else.

The two-person rule holds from the terminal too (docs/architecture.md, "The two-person rule"): the CLI
never asks for approvals or counts them. It starts only the active run's newest request, and only when
that request is approved by as many distinct approvers as it requires, has not expired, every gate
holds now (the window among them), and the plan as it stands has the fingerprint they approved.
`PurgeStep.start` then checks the plan again as it claims the request, exactly once, as a click does.
Otherwise it refuses (exit 3) with a sentence naming what is missing.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from bot.cli.common import Terminal, add_format, add_person, print_json, refused, step_dict
from bot.cli.operate import step_lines
from bot.config.settings import Settings
from bot.core.errors import RunbookError
from bot.core.wording import counted

if TYPE_CHECKING:
    from bot.core.model import StepView
    from bot.core.notifier import Requester
    from bot.runbook import Runbook
    from bot.steps.approval.model import RequestView


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`purge`."""
    purge = sub.add_parser(
        "purge",
        help="start the purge of the run's request, only once its approvers approved it in Slack and its "
        "plan is unchanged; exit 3 and say what is missing otherwise",
    )
    add_format(purge)
    add_person(purge)


def run(settings: Settings, args: argparse.Namespace) -> int:
    """Check the approvals and the plan; purge; the exit code as `regclean --help` says."""
    request: list[int] = []

    with Terminal(settings, args) as term:
        store = term.store

        async def start(runbook: Runbook, who: Requester) -> None:
            view = await approved_request(runbook)
            request.append(view.id)
            # the decision, as the requester's "Purge now" records it in Slack (bot/steps/schedule/step.py)
            detail = {"request": view.id, "fingerprint": view.fingerprint, "from": "cli"}
            await runbook.engine.db(store.audit, who.user, "purge.now", view.run_id, detail)
            await runbook.purge.start(view.id, who)

        after = term.active_run()
        steps: list[StepView] = []
        try:
            code, after, steps = term.act_async(start)
            refusals = list(term.console.refusals)
        except RunbookError as exc:  # refused before the claim; after it, the step's refusal is a notice
            code, refusals = refused(str(exc)), [str(exc)]
    if args.format == "json":
        doc = {
            "command": "purge",
            "request": request[0] if request else None,
            "exit": code,
            "refusals": refusals,
            "steps": [step_dict(s) for s in steps],
        }
        print_json(doc, after.id if after is not None else None)
    elif steps or not refusals:  # a refusal alone was said on stderr
        print("\n".join(step_lines(steps)))
    return code


async def approved_request(runbook: Runbook) -> RequestView:
    """The active run's approved request whose plan is unchanged; a RunbookError naming what is
    missing otherwise."""
    from bot.steps.approval.model import RequestState

    run = await runbook.status()
    if run is None:
        raise RunbookError("No run is active, so there is nothing to purge.")
    approval = runbook.approval
    request_id = await runbook.engine.db(approval.approvals.latest_request, run.id)
    if request_id is None:
        raise RunbookError(
            f"Run #{run.id} has no purge request. Ask for one in Slack (`/regclean purge`) and have it "
            "approved there: the command line never asks for approvals."
        )
    view = await approval.get(request_id)
    approvers = sorted(set(view.approvals))
    have = f"approved by {', '.join(approvers)}" if approvers else "approved by nobody yet"
    if view.state == RequestState.OPEN:
        missing = view.required - len(approvers)
        raise RunbookError(
            f"Request #{request_id} needs {counted(missing, 'more approval')} from distinct approvers in Slack "
            f"({view.required} required; {have})."
        )
    if view.state != RequestState.APPROVED:
        raise RunbookError(
            f"Request #{request_id} is {view.state}, not approved and waiting to start; ask for a new "
            "request in Slack (`/regclean purge`)."
        )
    if len(approvers) < view.required:  # the store never lets this happen; the rule is checked here too
        raise RunbookError(
            f"Request #{request_id} has {counted(len(approvers), 'distinct approval')} of the {view.required} required."
        )
    if runbook.now() >= view.expires_at:
        await approval.expire(request_id)
        raise RunbookError(
            f"The approval of request #{request_id} expired at {view.expires_at:%Y-%m-%d %H:%M} UTC; "
            "ask for a new request in Slack."
        )
    _, plan, _ = await approval.plan(starting=True)  # every gate, the window among them
    if plan.fingerprint != view.fingerprint:
        raise RunbookError(
            f"The plan changed since request #{request_id} was approved (a new backup, inventory, preflight "
            "or MinIO pod): its approvals do not cover it. Ask for a new request in Slack."
        )
    return view
