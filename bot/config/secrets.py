"""Secret settings read from files, as Kubernetes mounts Secrets (docs/architecture.md, "Settings").

Each secret setting (a `SecretStr` field of `Settings`) may come from:
- the environment itself (`SLACK_BOT_TOKEN=xoxb-…`);
- a file named by `NAME_FILE` (`SLACK_BOT_TOKEN_FILE=/var/run/secrets/regclean/slack-bot-token`);
- a file named as the setting in the directory `REGCLEAN_SECRETS_DIR` (`…/SLACK_BOT_TOKEN`), as a
  Secret mounted as a volume lays out its keys.

The environment's value or its `_FILE` wins over the directory, which wins over the YAML file.
Setting a value and its `_FILE` both is an error. A file's trailing newline is dropped (`echo` and
most editors add one). Errors name the setting and the path, never what the file holds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from bot.core.errors import ConfigError

SECRETS_DIR_ENV = "REGCLEAN_SECRETS_DIR"
FILE_SUFFIX = "_FILE"
#: a file in the secrets directory named like this is meant as a setting (a typo is not ignored)
_SETTING_LIKE = re.compile(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+")


def secrets_from_files(env: Mapping[str, str], secrets: Mapping[str, str]) -> dict[str, str]:
    """The secret settings' values read from files, by field name.

    `secrets` maps each secret setting's field name to its environment name. The environment's own
    value is not read here (`Settings.load` does that); only its conflict with `NAME_FILE` is.
    """
    values: dict[str, str] = {}
    directory = env.get(SECRETS_DIR_ENV)
    if directory:
        values.update(_from_directory(Path(directory), secrets))
    for field, name in secrets.items():
        path = env.get(name + FILE_SUFFIX)
        if not path:
            continue
        if env.get(name):
            raise ConfigError(
                f"Both {name} and {name}{FILE_SUFFIX} are set: keep one of them "
                f"({name}{FILE_SUFFIX} for a file such as a mounted Secret)."
            )
        values[field] = read_secret(Path(path), f"{name} (from {name}{FILE_SUFFIX})")
    return values


def read_secret(path: Path, what: str) -> str:
    """A secret file's text without its trailing newline; ConfigError naming `what` and the path."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Cannot read {what}: {path} does not exist.") from None
    except IsADirectoryError:
        raise ConfigError(f"Cannot read {what}: {path} is a directory, not a file.") from None
    except PermissionError:
        raise ConfigError(
            f"Cannot read {what}: permission denied on {path} (check the file's owner and mode, "
            "or the Secret volume's defaultMode)."
        ) from None
    except OSError as exc:
        raise ConfigError(f"Cannot read {what}: {path}: {exc.strerror}.") from None
    except UnicodeDecodeError:
        raise ConfigError(f"Cannot read {what}: {path} is not UTF-8 text.") from None
    value = text.rstrip("\r\n")
    if not value:
        raise ConfigError(f"{what}: {path} is empty.")
    return value


def _from_directory(directory: Path, secrets: Mapping[str, str]) -> dict[str, str]:
    """The secret files in `directory`; Kubernetes' own entries (`..data`) and other files are left alone."""
    try:
        entries = sorted(p.name for p in directory.iterdir())
    except FileNotFoundError:
        raise ConfigError(f"{SECRETS_DIR_ENV}={directory}: no such directory.") from None
    except NotADirectoryError:
        raise ConfigError(f"{SECRETS_DIR_ENV}={directory} is not a directory.") from None
    except OSError as exc:
        raise ConfigError(f"{SECRETS_DIR_ENV}={directory} cannot be listed: {exc.strerror}.") from None
    by_name = {name: field for field, name in secrets.items()}
    unknown = [e for e in entries if e not in by_name and _SETTING_LIKE.fullmatch(e)]
    if unknown:
        raise ConfigError(
            f"{SECRETS_DIR_ENV}={directory} holds {', '.join(unknown)}, which "
            f"{'is not a secret setting' if len(unknown) == 1 else 'are not secret settings'}; "
            f"the files read there are {', '.join(sorted(by_name))}. Set other settings in the "
            "environment or the config file."
        )
    return {
        by_name[e]: read_secret(directory / e, f"{e} (from {SECRETS_DIR_ENV})")
        for e in entries
        if e in by_name
    }
