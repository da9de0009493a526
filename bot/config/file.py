"""The optional YAML config file (`REGCLEAN_CONFIG` or `--config`): the settings' names in lower case."""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import yaml

from bot.core.errors import ConfigError

_LIST_SEPARATOR = {"windows": ";"}  # a cron field may hold commas, so these entries are split on `;`


def read_config_file(path: Path, known: Collection[str]) -> dict[str, Any]:
    """The file's settings by name; a list becomes the text the environment would hold."""
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"Cannot read the config file {path}: {exc.strerror}.") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"The config file {path} is not valid YAML{where}.") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"The config file {path} must be a mapping of setting names to values.")
    unknown = sorted(str(k) for k in loaded if k not in known)
    if unknown:
        raise ConfigError(
            f"Unknown setting(s) in {path}: {', '.join(unknown)}. "
            "Use the documented names in lower case without the REGCLEAN_ prefix."
        )
    return {
        str(k): (_LIST_SEPARATOR.get(str(k), ",").join(str(x) for x in v) if isinstance(v, list) else v)
        for k, v in loaded.items()
    }
