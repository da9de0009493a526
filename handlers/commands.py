"""`/regclean …`: parse, authorize, acknowledge, hand off to the runbook engine.

No handler waits for cluster work before it acknowledges. Errors a person can act on
(`RunbookError`, `ActionError`) come back as an ephemeral reply from one error handler.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from actions.errors import ActionError
from bot.authz import AccessPolicy
from bot.errors import RunbookError
from bot.notifier import Requester
from bot.runbook import Runbook
from handlers.blocks import COMMANDS, checklist_blocks, help_blocks, refusal_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parsed:
    """A subcommand and its arguments."""

    name: str
    args: tuple[str, ...]


class ParseError(ValueError):
    """What the user typed is not a command we know; the message says what is wrong."""


def parse(text: str) -> Parsed:
    """Split `/regclean` text into a subcommand and arguments; no text means `help`."""
    words = text.split()
    if not words:
        return Parsed("help", ())
    name, args = words[0].lower(), tuple(words[1:])
    if name not in COMMANDS:
        raise ParseError(f"`{name}` is not a regclean command.")
    expected, _ = COMMANDS[name]
    if args and not expected:
        raise ParseError(f"`{name}` takes no arguments, but got `{' '.join(args)}`.")
    return Parsed(name, args)


Handler = Callable[[Parsed, Requester, AsyncAck, AsyncRespond], Awaitable[None]]


def register(app: AsyncApp, runbook: Runbook, policy: AccessPolicy) -> None:
    """Wire `/regclean` and the error handler into a Bolt app."""

    async def help_(parsed: Parsed, who: Requester, ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack(text="regclean help", blocks=help_blocks())

    async def status(parsed: Parsed, who: Requester, ack: AsyncAck, respond: AsyncRespond) -> None:
        run = await runbook.status()
        if run is None:
            await ack(text="No run is active. Start one with `/regclean inventory`.")
        else:
            await ack(text=f"Run #{run.id}", blocks=checklist_blocks(run))

    async def inventory(parsed: Parsed, who: Requester, ack: AsyncAck, respond: AsyncRespond) -> None:
        await ack(
            text="Recording the installed operators and cluster plugins… the result goes to the run's thread."
        )
        await runbook.record_inventory(who)

    handlers: dict[str, Handler] = {"help": help_, "status": status, "inventory": inventory}

    @app.command("/regclean")
    async def regclean(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        try:
            parsed = parse(command.get("text", ""))
        except ParseError as exc:
            await ack(text=str(exc), blocks=help_blocks(problem=str(exc)))
            return
        user = command["user_id"]
        decision = await policy.check(user, parsed.name)
        if not decision.allowed:
            log.info("refused %s for %s", parsed.name, user)
            await ack(text=refusal_text(user, parsed.name, decision))
            return
        await handlers[parsed.name](parsed, Requester(user, command.get("channel_id")), ack, respond)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None = None) -> None:
        if isinstance(error, RunbookError | ActionError):
            text = f":warning: {error}"
        else:
            incident = uuid.uuid4().hex[:8]
            log.error("unhandled error (incident %s)", incident, exc_info=error)
            text = (
                f":x: Something went wrong on our side (incident {incident}); the bot's log has the details."
            )
        if respond is not None:
            await respond(text=text, response_type="ephemeral", replace_original=False)
