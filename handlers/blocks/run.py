"""Block Kit for the run: the checklist, help, refusals and failures."""

from __future__ import annotations

from datetime import datetime

from bot.audit.actors import name_of
from bot.core.authz import Decision
from bot.core.model import RUNBOOK, RunView, Said, StepState, StepView
from handlers.blocks.tables import Block, context, escape, header, inline, section, truncate

ICONS = {
    StepState.PENDING: "⬜",
    StepState.RUNNING: "⏳",
    StepState.SUCCEEDED: "✅",
    StepState.FAILED: "❌",
    StepState.INTERRUPTED: "⚠️",
}

#: subcommand → (arguments, what it does); the help text and the parser share it
COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("", "show this help"),
    "inventory": ("", "record the installed operators and cluster plugins (runbook steps 1–2) and post them"),
    "backup": (
        "",
        "back up /cpaas/minio on every control-plane node (runbook step 3) and verify each archive",
    ),
    "preflight": (
        "",
        "check every gate before the purge: inventory, backups, a package for everything installed, "
        "the registry's custom images, the window",
    ),
    "export": (
        "",
        "export every custom image the preflight found into one OCI image layout (REGCLEAN_EXPORT_DIR) and "
        "read it back; the restore pushes them back",
    ),
    "waive": (
        "REPO:TAG…",
        "approvers: let the purge delete these custom images unexported (audited, named in the plan)",
    ),
    "purge": (
        "",
        "ask for the purge (runbook step 4): the request goes to the channel for approval (two approvers "
        "by default), then the registry bucket is emptied",
    ),
    "restore": (
        "core|plugins|custom",
        "`core`: re-upload the core images with upload.sh (runbook step 5); `plugins [--retry-failed]`: push "
        "every plugin package with violet (step 7), then the custom images; `custom [--retry-failed]`: push the "
        "exported custom images back. Each is followed by a full pull check",
    ),
    "verify": (
        "",
        "pull the probe images and every image the workloads use, with digests checked (steps 6 and 8)",
    ),
    "close": (
        "",
        "record the inventory again, compare the catalog with the preflight's, post the final report and "
        "end the run (it also follows on its own once every image pulls after the plugin restore)",
    ),
    "window": (
        "[START DURATION | cancel]",
        "show the maintenance window; declare one (`2026-12-01T02:00+08:00 4h`, with its UTC offset) or cancel it. "
        "With windows in use, the purge runs only inside one",
    ),
    "schedule": (
        "[cancel ID]",
        "list what is scheduled; `cancel ID` cancels the scheduled purge of request ID",
    ),
    "status": ("", "show the current run's checklist, what is scheduled, and the last finished run"),
    "doctor": (
        "",
        "check, without changing anything, what the night needs after the purge: Slack, RBAC, MinIO, the "
        "registry, the nodes, upload.sh and violet, the platform",
    ),
    "rehearse": (
        "",
        "tell, without changing anything, what the night would do: the bytes the purge deletes, the tags that "
        "would not come back, each step's expected time, and GO or NO-GO with what to fix",
    ),
    "audit": (
        "[RUN]",
        "upload the audit trail (of run RUN, or of every run) as a JSON Lines file: every decision, who made "
        "it, and a hash chain that `regclean audit --verify` checks",
    ),
}


def slack_user(user: str) -> bool:
    """Whether `user` is a Slack user ID (not `cli:root` or `regclean`)."""
    return user[:1] in ("U", "W") and user.isalnum()


def who(user: str) -> str:
    """A mention (it notifies) for a Slack user ID; anything else (e.g. `cli:root`) as code.
    Only for who must act, a failure, the final report's thanks, and replies to that person
    (docs/architecture.md, "People and times in Slack"); elsewhere `named`."""
    return f"<@{user}>" if slack_user(user) else f"`{inline(user)}`"


def named(user: str) -> str:
    """A Slack user by name, without notifying them: the name Slack sent with their command or
    click (`bot.audit.actors`), escaped, in bold. A mention when this process does not know the
    name (the Slack notifier looks it up first); anything else (e.g. `cli:root`) as `who` writes it."""
    name = name_of(user) if slack_user(user) else None
    return f"*{inline(name)}*" if name else who(user)


def said_text(said: Said) -> str:
    """A sentence of the core: its text escaped, its people named and its times as Slack dates."""
    return said.render(named, escape, slack_date)


def when(moment: datetime) -> str:
    """A UTC timestamp for messages."""
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def slack_date(moment: datetime) -> str:
    """A time Slack shows in each reader's own time zone, with UTC as the fallback."""
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{when(moment)}>"


def help_blocks(problem: str | None = None) -> list[Block]:
    """The help; with `problem` first when the user typed something we did not understand."""
    lines = [
        f"`/regclean {name}{(' ' + args) if args else ''}` — {text}"
        for name, (args, text) in COMMANDS.items()
    ]
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {inline(problem)}"))
    blocks.append(section("*regclean* cleans the platform registry, step by step:\n" + "\n".join(lines)))
    return blocks


def refusal_text(user: str, command: str, decision: Decision) -> str:
    """Why a user may not run a command, and who may."""
    roles = " or ".join(sorted(r.value + "s" for r in decision.roles)) or "nobody"
    names = [named(u) for u in decision.allowed_users] + [
        f"members of @{inline(g)}" for g in decision.allowed_groups
    ]
    allowed = ", ".join(names) if names else "nobody yet (set REGCLEAN_OPERATORS / REGCLEAN_APPROVERS)"
    return f"Sorry {who(user)}, `/regclean {inline(command)}` is for {roles} only. Who may run it: {allowed}."


def step_line(title: str, step: StepView | None, progress: str | None) -> str:
    """One line of the checklist."""
    if step is None:
        return f"{ICONS[StepState.PENDING]} {title}"
    line = f"{ICONS[step.state]} *{title}* — {step.state.value}"
    if step.state is StepState.RUNNING and progress:
        line += f": {inline(progress)}"
    elif step.state is StepState.SUCCEEDED and step.summary:
        line += f": {inline(step.summary)}"
    elif step.error:
        line += f": {inline(truncate(step.error, 300))}"
    stamp = step.finished_at or step.started_at
    return line + f" ({named(step.requested_by)}, {slack_date(stamp)})"


def checklist_blocks(run: RunView, progress: dict[int, str] | None = None) -> list[Block]:
    """The run's root message: every runbook step with its state, updated in place."""
    progress = progress or {}
    lines = []
    for step in RUNBOOK:
        latest = run.latest(step.name)
        lines.append(step_line(step.title, latest, progress.get(latest.id) if latest else None))
    return [
        header(f"Registry cleanup — run #{run.id}"),
        section("\n".join(lines)),
        context(
            f"Opened by {named(run.opened_by)} at {slack_date(run.opened_at)} · state: {run.state.value}"
        ),
    ]


def checklist_text(run: RunView) -> str:
    """The notification text of the root message (shown where blocks are not)."""
    return f"Registry cleanup run #{run.id} ({run.state.value})"


def failure_blocks(step: StepView) -> list[Block]:
    """A failed or interrupted step, for the thread and the requester."""
    what = ":warning: *{}* was interrupted" if step.state is StepState.INTERRUPTED else ":x: *{}* failed"
    return [section(f"{what.format(inline(step.name))}: {inline(step.error or 'no reason recorded')}")]
