"""The STAND-IN violet's command line (see `violet.py`): its commands and flags, parsed with the
errors cobra (which violet's CLI uses) gives: an unknown flag or command, a missing argument, and
the flag groups of the platform login (username and password together, one of them or the token,
never both). Imported by `violet.py` as a sibling script module."""

from __future__ import annotations


class FlagError(Exception):
    """Ends the command with `Error: MESSAGE` on stderr and exit status 1, as cobra does."""


USAGE = """Usage:
  violet push PACKAGE [flags]
  violet show PACKAGE [--all]
  violet verify PACKAGE|DIRECTORY
  violet list [flags]

Flags:
      --platform-address string    platform address, e.g. https://192.168.1.10
      --platform-username string   platform user
      --platform-password string   platform user's password
      --platform-token string      platform access token; cannot be used together with username/password
  -h, --help                       help
"""
COMMANDS = {
    "push": ("platform-address", "platform-username", "platform-password", "platform-token"),
    "show": ("all",),
    "verify": ("debug",),
    "list": (
        "platform-address",
        "platform-username",
        "platform-password",
        "platform-token",
        "clusters",
        "output-file",
        "debug",
    ),
}
"""Each command's flags."""
SWITCHES = frozenset({"all", "debug"})
"""The flags that take no value."""


def parse_flags(command: str, args: list[str]) -> dict[str, str]:
    """A command's flags, where it takes no argument (`violet list`)."""
    positional, flags = _split(command, args)
    if positional:
        raise FlagError(f'unknown command "{positional[0]}" for "violet {command}"')
    return flags


def parse(command: str, args: list[str]) -> tuple[str, dict[str, str]]:
    """A command's one argument (the package or directory) and its flags."""
    positional, flags = _split(command, args)
    if len(positional) != 1:
        raise FlagError(f"accepts 1 arg(s), received {len(positional)}")
    return positional[0], flags


def _split(command: str, args: list[str]) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    flags: dict[str, str] = {}
    rest = iter(args)
    for arg in rest:
        if not arg.startswith("--"):
            positional.append(arg)
            continue
        name, eq, value = arg[2:].partition("=")
        if name not in COMMANDS[command]:
            raise FlagError(f"unknown flag: --{name}")
        if not eq and name not in SWITCHES:
            following = next(rest, None)
            if following is None:
                raise FlagError(f"flag needs an argument: --{name}")
            value = following
        flags[name] = value
    return positional, flags


def login_flags(flags: dict[str, str]) -> dict[str, str]:
    """cobra's checks: a required flag, then the flag groups (together, one required, exclusive)."""
    if "platform-address" not in flags:
        raise FlagError('required flag(s) "platform-address" not set')
    together = [f for f in ("platform-username", "platform-password") if f in flags]
    if len(together) == 1:
        missing = "platform-password" if together[0] == "platform-username" else "platform-username"
        raise FlagError(
            f"if any flags in the group [platform-username platform-password] are set they must all be set; "
            f"missing [{missing}]"
        )
    if not together and "platform-token" not in flags:
        raise FlagError(
            "at least one of the flags in the group [platform-token platform-username] is required"
        )
    if together and "platform-token" in flags:
        raise FlagError(
            "if any flags in the group [platform-token platform-username] are set none of the others can be; "
            "[platform-token platform-username] were all set"
        )
    return flags
