"""The README's configuration table, generated from `Settings` (`python -m bot.config.reference`)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import SecretStr

from bot.config.settings import Settings, env_name
from bot.core.durations import format_duration


def reference_markdown() -> str:
    """The configuration reference table for the README, generated from this class."""
    lines = ["| Environment | YAML key | Default | Meaning |", "|---|---|---|---|"]
    for name, info in Settings.model_fields.items():
        default = info.get_default(call_default_factory=True)
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        if isinstance(default, timedelta):
            default = format_duration(default)
        if isinstance(default, dict) and all(isinstance(v, timedelta) for v in default.values()):
            default = ",".join(f"{k}={format_duration(v)}" for k, v in default.items())
        shown = "–" if default in (None, (), {}) else f"`{default}`"
        lines.append(f"| `{env_name(name)}` | `{name}` | {shown} | {info.description or ''} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # python -m bot.config.reference
    print(reference_markdown(), end="")
