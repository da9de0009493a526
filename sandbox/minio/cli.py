"""The command line of the `mc` stand-in: flags as mc's CLI library takes them, and targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import config, messages
from .remote import Alias

GLOBAL_FLAGS = frozenset({"insecure", "json", "quiet", "q", "no-color", "debug", "disable-pager", "dp"})
GLOBAL_VALUES = frozenset({"config-dir", "C"})
COMMAND_FLAGS = {
    "alias": frozenset(),
    "ls": frozenset({"recursive", "r", "versions"}),
    "rm": frozenset({"recursive", "r", "force", "dangerous", "fake", "versions"}),
    "du": frozenset({"versions"}),
    "version": frozenset(),
}


class UsageError(Exception):
    """A command line mc would refuse before talking to any server."""


@dataclass
class Invocation:
    """The parsed command line."""

    command: str
    args: list[str]
    flags: set[str] = field(default_factory=set)
    json: bool = False
    insecure: bool = False
    config_dir: str | None = None


def parse(argv: Sequence[str]) -> Invocation:
    """Global and command flags may come anywhere, as `--flag`, `-flag` or `--flag=value`."""
    positional: list[str] = []
    flags: set[str] = set()
    values: dict[str, str] = {}
    items = iter(argv)
    for item in items:
        if item == "--":
            positional.extend(items)
            break
        if not item.startswith("-") or item == "-":
            positional.append(item)
            continue
        name, eq, value = item.lstrip("-").partition("=")
        if name in GLOBAL_VALUES:
            values[name] = value if eq else next(items, "")
        else:
            flags.add(name)
    if not positional:
        raise UsageError("no command given. Get help using '--help' flag")
    command, args = positional[0], positional[1:]
    if command not in COMMAND_FLAGS:
        raise UsageError(f"'{command}' is not a recognized command. Get help using '--help' flag")
    unknown = sorted(flags - GLOBAL_FLAGS - COMMAND_FLAGS[command])
    if unknown:
        raise UsageError(f"Invalid command usage, flag provided but not defined: -{unknown[0]}")
    return Invocation(
        command,
        args,
        flags,
        json="json" in flags,
        insecure="insecure" in flags,
        config_dir=values.get("config-dir") or values.get("C"),
    )


@dataclass(frozen=True)
class Target:
    """`ALIAS/BUCKET/PREFIX` on the command line."""

    text: str
    alias: Alias
    bucket: str
    prefix: str

    def key_url(self, bucket: str, key: str) -> str:
        return f"{self.alias.name}/{bucket}/{key}"


def resolve(inv: Invocation, text: str) -> Target | None:
    """The target's alias from the configuration; None (with mc's error) when there is none."""
    name, _, rest = text.partition("/")
    alias = config.load(config.config_dir(inv.config_dir)).get(name)
    if alias is None:
        # mc would take the argument for a local path; the stand-in never touches local files.
        messages.error("Unable to resolve target.", f"Requested file `{text}` not found", inv.json)
        return None
    bucket, _, prefix = rest.partition("/")
    return Target(text, alias, bucket, prefix)
