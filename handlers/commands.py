"""`/regclean …`: parse, authorize, acknowledge, hand off to the runbook engine.

No handler waits for cluster work before it acknowledges. What the engine refuses or what
fails later reaches the person through the Notifier; anything unexpected through `on_error`.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.authz import AccessPolicy, Role
from bot.core.errors import RunbookError
from bot.core.notifier import Requester
from bot.runbook import Runbook
from handlers import schedule_commands
from handlers.audit_commands import remember_actor, run_of, start_audit
from handlers.blocks.run import COMMANDS, help_blocks, refusal_text, said_text
from handlers.blocks.tables import escape
from handlers.doctor_commands import start_doctor
from handlers.ephemeral import tell
from handlers.rehearse_commands import start_rehearsal
from handlers.reply_pacing import RepliesPerUser, held_back_note
from handlers.schedule_commands import Zones

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
    if name == "restore" and tuple(a.lower() for a in args) not in RESTORE_FORMS:
        got = f"`{' '.join(args)}`" if args else "nothing"
        raise ParseError(
            f"`restore` takes `core`, `core --override`, `plugins [--retry-failed]` or `custom [--retry-failed]`, "
            f"but got {got}."
        )
    return Parsed(name, tuple(a.lower() for a in args) if name == "restore" else args)


#: what `/regclean restore` accepts
RESTORE_FORMS = frozenset(
    {
        ("core",),
        ("core", "--override"),
        ("plugins",),
        ("plugins", "--retry-failed"),
        ("custom",),
        ("custom", "--retry-failed"),
    }
)


#: subcommand → (what the acknowledgement says, what it starts in the engine)
WORK: dict[str, tuple[str, Callable[[Runbook, Requester], None]]] = {
    "inventory": (
        "Recording the installed operators and cluster plugins… the result goes to the run's thread.",
        lambda runbook, who: runbook.start_inventory(who),
    ),
    "backup": (
        "Backing up the MinIO directory of every control-plane node… progress goes to the run's thread.",
        lambda runbook, who: runbook.start_backup(who),
    ),
    "preflight": (
        "Checking every gate before the purge… the report goes to the run's thread.",
        lambda runbook, who: runbook.start_preflight(who),
    ),
    "export": (
        "Exporting the custom images… progress goes to the run's thread.",
        lambda runbook, who: runbook.start_export(who),
    ),
    "purge": (
        "Asking for the purge: if every gate holds, the request goes to the channel for approval…",
        lambda runbook, who: runbook.start_purge_request(who),
    ),
    "verify": (
        "Pulling the probe images and every image the workloads use… the result goes to the run's thread.",
        lambda runbook, who: runbook.start_verify(who),
    ),
    "close": (
        "Closing the run: recording the inventory again and reading the catalog… the final report goes "
        "to the run's thread.",
        lambda runbook, who: runbook.start_close(who),
    ),
}


def register(app: AsyncApp, runbook: Runbook, policy: AccessPolicy, zones: Zones) -> None:
    """Wire `/regclean` and the error handler into a Bolt app built with `process_before_response`.

    The listener parses, authorizes and acknowledges; work is handed to the engine, which runs
    it as a background task and answers refusals through the Notifier. Nothing here waits for
    the cluster, so the acknowledgement goes out as soon as the listener returns.
    """

    replies = RepliesPerUser()

    async def started(ack: AsyncAck, user: str, text: str) -> None:
        # The acknowledgement of work that starts is said once per person within a window: asking
        # again while it runs gets one "already running" from the engine, not another "started".
        held_back = replies.admit(user, text)
        await (ack() if held_back is None else ack(text=text + held_back_note(held_back)))

    @app.command("/regclean")
    async def regclean(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient) -> None:
        try:
            parsed = parse(command.get("text", ""))
        except ParseError as exc:
            # What the user typed is echoed back: escaped, so `<!channel>` stays text.
            await ack(text=escape(str(exc)), blocks=help_blocks(problem=str(exc)))
            return
        user = command["user_id"]
        decision = await policy.check(user, parsed.name)
        if not decision.allowed:
            log.info("refused %s for %s", parsed.name, user)
            await ack(text=refusal_text(user, parsed.name, decision))
        elif parsed.name == "help":
            await ack(text="regclean help", blocks=help_blocks())
        elif parsed.name == "status":
            text, blocks = await schedule_commands.status(runbook)
            await ack(text=text, blocks=blocks)
        elif parsed.name in ("window", "schedule"):
            try:
                if parsed.name == "window":  # the person's zone shapes the examples of a start
                    answer = await schedule_commands.window(runbook, user, parsed.args, await zones.of(user))
                else:
                    answer = await schedule_commands.schedule(runbook, user, parsed.args)
                await ack(text=answer)
            except RunbookError as exc:
                await ack(text=f":warning: {escape(str(exc))}")
        elif parsed.name == "waive":
            try:
                await ack(text=said_text(await runbook.waive(user, parsed.args)))
            except RunbookError as exc:
                await ack(text=f":warning: {escape(str(exc))}")
        elif parsed.name == "audit":
            try:
                run_id = run_of(parsed.args)
            except ValueError as exc:
                await ack(text=f":warning: {escape(str(exc))}")
            else:
                await ack(text="Exporting the audit trail… the file follows here.")
                start_audit(runbook, client, Requester(user, command.get("channel_id")), run_id)
        elif parsed.name == "doctor":
            await ack(text="Checking what the night needs, changing nothing… the table follows here.")
            start_doctor(runbook, client, Requester(user, command.get("channel_id")))
        elif parsed.name == "rehearse":
            await ack(text="Rehearsing the night, changing nothing… the result follows here.")
            start_rehearsal(runbook, client, Requester(user, command.get("channel_id")))
        elif parsed.name == "restore":
            who = Requester(user, command.get("channel_id"))
            if parsed.args[0] == "core":
                await started(
                    ack, user, "Restoring the core images with upload.sh… output goes to the run's thread."
                )
                may_override = await policy.has_role(user, Role.APPROVER)
                runbook.start_restore_core(
                    who, override="--override" in parsed.args, may_override=may_override
                )
            elif parsed.args[0] == "custom":
                await started(
                    ack,
                    user,
                    "Pushing the custom images back from their export… progress goes to the run's thread.",
                )
                runbook.start_restore_custom(who, retry_failed="--retry-failed" in parsed.args)
            else:
                await started(
                    ack, user, "Pushing the plugin packages with violet… progress goes to the run's thread."
                )
                runbook.start_restore_plugins(who, retry_failed="--retry-failed" in parsed.args)
        else:
            reply, start = WORK[parsed.name]
            await started(ack, user, reply)
            start(runbook, Requester(user, command.get("channel_id")))

    @app.use
    async def names(body: dict[str, Any], next_: Callable[[], Awaitable[None]]) -> None:
        remember_actor(body)  # the audit trail names whoever acts (bot/audit/actors.py)
        await next_()

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], respond: AsyncRespond | None = None) -> None:
        incident = uuid.uuid4().hex[:8]
        log.error("unhandled error (incident %s)", incident, exc_info=error)
        if respond is not None:
            await tell(
                respond,
                f":x: Something went wrong on our side (incident {incident}); the bot's log has the details.",
            )
