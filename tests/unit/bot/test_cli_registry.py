"""`bot/cli/`: a module adds its subcommands with `add_parser(sub)` and runs them with
`run(settings, args)`; `--help` documents the exit codes; who acts."""

from __future__ import annotations

import argparse
import getpass
import os
import types

import pytest

from bot import cli
from bot.cli import common


def plugin(calls: list[str]) -> types.ModuleType:
    """A command module as another engineer would write one: two subcommands, one `run`."""
    module = types.ModuleType("plugin")

    def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        sub.add_parser("first").add_argument("--flag", action="store_true")
        sub.add_parser("second")

    def run(settings: object, args: argparse.Namespace) -> int:
        calls.append(f"{args.command} {getattr(args, 'flag', None)}")
        return 3

    module.add_parser = add_parser  # type: ignore[attr-defined]
    module.run = run  # type: ignore[attr-defined]
    module.NEEDS_SETTINGS = False  # type: ignore[attr-defined]
    return module


def test_a_registered_module_runs_each_of_its_subcommands(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, plugin(calls)))
    assert cli.main(["first", "--flag"]) == 3
    assert cli.main(["second"]) == 3
    assert calls == ["first True", "second None"]


def test_every_subcommand_is_routed_to_the_module_that_added_it() -> None:
    parser = cli._parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    routed = {name: p.get_default("command_module").__name__ for name, p in sub.choices.items()}
    assert routed["purge"] == "bot.cli.purge" and routed["status"] == "bot.cli.operate"
    assert routed["window"] == routed["schedule"] == "bot.cli.calendar"
    assert routed["audit"] == "bot.audit.command"
    assert all(module for module in routed.values())


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    for line in ("0    done", "1    a step", "2    usage or configuration error", "3    refused by a gate"):
        assert line in out
    assert '"schema": 1' in out


def test_a_local_user_without_a_name_acts_as_its_uid(monkeypatch: pytest.MonkeyPatch) -> None:
    def nameless() -> str:
        raise KeyError("getpwuid(): uid not found: 1000660000")  # an arbitrary UID in a container

    monkeypatch.setattr(getpass, "getuser", nameless)
    assert common.actor(argparse.Namespace()) == f"cli:uid{os.getuid()}"
