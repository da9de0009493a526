"""Who an audit row's actor is by name (docs/architecture.md, "The audit trail").

An actor is a Slack user ID, `cli:<login>` from the terminal, or `regclean` itself. Slack sends a
user's name with every command and button press: the handlers `remember` it, and the audit chain
(`bot/audit/chain.py`) writes it next to the ID of each row that actor writes. A name is data the
process learns, kept for as long as it runs; a Slack user no handler has seen yet has no name (None).
"""

from __future__ import annotations

import threading

#: the bot itself, for what it decides on its own (an expiry, a step that ended)
SYSTEM = "regclean"

_names: dict[str, str] = {}
_lock = threading.Lock()


def remember(user: str, name: str | None) -> None:
    """Note a Slack user's name, as Slack sent it with a command or an action."""
    if user and name:
        with _lock:
            _names[user] = name[:128]


def name_of(actor: str) -> str | None:
    """The name of an actor: a Slack user's as remembered, a local user's login, or the bot's."""
    if actor == SYSTEM:
        return SYSTEM
    with _lock:
        named = _names.get(actor)
    if actor.startswith("cli:"):  # `regclean … --as NAME` names the person; else the login
        return named or actor.removeprefix("cli:")[:128] or None
    return named
