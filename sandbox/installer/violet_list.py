"""The STAND-IN violet's `violet list` (see `violet.py`): the installed operators and Aligned or
Agnostic cluster plugins as YAML on stdout and in `--output-file` (default `apps.yaml`), after the
same login as `push`; `--clusters a,b` keeps what is installed there. The applications come from
the platform's stand-in answer, which the sandbox writes from its fixture (`applications.py`).
Imported by `violet.py` as a sibling script module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Sequences indented under their key, as Go's yaml.v3 writes them (`installed:` then `  - …`)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def render(applications: dict[str, dict[str, Any]], clusters: str | None) -> str:
    """The documented YAML, with only the installations on `clusters` (comma-separated) when given."""
    wanted = {c.strip() for c in clusters.split(",") if c.strip()} if clusters else None
    kept: dict[str, Any] = {}
    for name, app in applications.items():
        installed = [
            i for i in app.get("installed") or [] if wanted is None or i.get("clusterName") in wanted
        ]
        if installed:
            kept[name] = {**app, "installed": installed}
    return yaml.dump({"applications": kept}, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


def write(text: str, output_file: str | None) -> None:
    """Write the list where `--output-file` says, `apps.yaml` by default."""
    Path(output_file or "apps.yaml").write_text(text)
