"""The import-linter contracts in pyproject.toml break when a module, new or old, imports what it must not.

Each case copies the packages and pyproject.toml to a temporary directory, plants one import there and
runs lint-imports on the copy.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPIED = ["bot", "actions", "handlers", "sandbox"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

LAYERS = "Layers: handlers above the core above the actions"
NO_SANDBOX = "The bot never imports the sandbox (except the demo subcommand)"
SLACK = "Slack only in the handlers and the composition root"
KUBERNETES = "Only actions.kube and actions.kube_exec talk to the Kubernetes API"
ASYNCSSH = "Only actions.ssh imports asyncssh"


def copy_of_the_tree(tmp_path: Path) -> Path:
    """The packages and pyproject.toml, copied under tmp_path."""
    tree = tmp_path / "tree"
    for package in COPIED:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def plant(tree: Path, module: str, line: str) -> None:
    """Append an import to a module of the copy, creating the module if it is new."""
    path = tree / module
    existing = path.read_text() if path.exists() else ""
    path.write_text(f"{existing}\n{line}\n")


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the copy, not on the editable install of the working tree."""
    # lint-imports finds the packages by importing them: the copy must come before the editable
    # install's finder on the path
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def broken_contracts(output: str) -> set[str]:
    """The names of the contracts lint-imports reported broken."""
    # "<name> BROKEN" or "<name> BROKEN (1 ignored import)"
    return set(re.findall(r"^(.+) BROKEN(?: \(.*\))?$", output, flags=re.MULTILINE))


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("bot/steps/planted.py", "import slack_sdk", SLACK),
        ("actions/planted.py", "import slack_bolt", SLACK),
        ("actions/backup_checks.py", "import kubernetes", KUBERNETES),
        ("actions/packages.py", "import asyncssh", ASYNCSSH),
        ("handlers/planted.py", "import sandbox", NO_SANDBOX),
        ("bot/steps/planted.py", "import handlers", LAYERS),
    ],
)
def test_a_planted_import_breaks_the_contract_that_forbids_it(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    tree = copy_of_the_tree(tmp_path)
    plant(tree, module, line)

    result = lint_imports(tree)

    assert result.returncode != 0, result.stdout
    assert broken_contracts(result.stdout) == {contract}, result.stdout


def test_the_unmodified_tree_keeps_every_contract(tmp_path: Path) -> None:
    tree = copy_of_the_tree(tmp_path)

    result = lint_imports(tree)

    assert result.returncode == 0, result.stdout + result.stderr
    assert broken_contracts(result.stdout) == set(), result.stdout
    assert "Contracts: 5 kept, 0 broken." in result.stdout, result.stdout
