"""Secret settings from files: `NAME_FILE`, and `REGCLEAN_SECRETS_DIR` laid out as Kubernetes mounts a Secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config.settings import ConfigError, Settings, env_name, secret_settings

CANARY = "canary-3f9a"


def mounted_secret(root: Path, files: dict[str, str]) -> Path:
    """A directory as the kubelet writes a Secret volume: the keys are links into `..data`, a link to
    a timestamped directory holding the files."""
    root.mkdir()
    stamped = root / "..2024_05_01_10_00_00.123456789"
    stamped.mkdir()
    for name, text in files.items():
        (stamped / name).write_text(text, encoding="utf-8")
    os.symlink(stamped.name, root / "..data")
    for name in files:
        os.symlink(f"..data/{name}", root / name)
    return root


def test_a_secret_comes_from_its_file_without_the_trailing_newline(tmp_path: Path) -> None:
    token, url = tmp_path / "slack-bot-token", tmp_path / "database-url"
    token.write_text("xoxb-from-file\n")
    url.write_text("postgresql+psycopg://regclean:pw@db/regclean\r\n")
    s = Settings.load({"SLACK_BOT_TOKEN_FILE": str(token), "DATABASE_URL_FILE": str(url)})
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == "xoxb-from-file"
    assert s.database_url.get_secret_value() == "postgresql+psycopg://regclean:pw@db/regclean"


@pytest.mark.parametrize("field", secret_settings())
def test_every_secret_setting_can_come_from_the_secrets_directory(tmp_path: Path, field: str) -> None:
    directory = mounted_secret(tmp_path / "secrets", {env_name(field): f"{CANARY}-{field}\n"})
    s = Settings.load({"REGCLEAN_SECRETS_DIR": str(directory)})
    assert getattr(s, field).get_secret_value() == f"{CANARY}-{field}"


def test_the_secret_settings_are_the_documented_ones() -> None:
    assert {env_name(f) for f in secret_settings()} >= {
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "DATABASE_URL",
        "REGCLEAN_REGISTRY_PASSWORD",
        "REGCLEAN_PLATFORM_PASSWORD",
    }


def test_the_secrets_directory_leaves_other_files_alone(tmp_path: Path) -> None:
    directory = mounted_secret(
        tmp_path / "secrets", {"SLACK_APP_TOKEN": "xapp-1", "ca.crt": "PEM", "id_ed25519": "KEY"}
    )
    s = Settings.load({"REGCLEAN_SECRETS_DIR": str(directory)})
    assert s.slack_app_token is not None and s.slack_app_token.get_secret_value() == "xapp-1"


def test_the_environment_wins_over_the_directory_which_wins_over_the_yaml_file(tmp_path: Path) -> None:
    directory = mounted_secret(
        tmp_path / "secrets", {"SLACK_BOT_TOKEN": "xoxb-dir", "REGCLEAN_REGISTRY_PASSWORD": "from-dir"}
    )
    cfg = tmp_path / "regclean.yaml"
    cfg.write_text("registry_password: from-yaml\nplatform_password: yaml-only\n")
    s = Settings.load(
        {"REGCLEAN_SECRETS_DIR": str(directory), "SLACK_BOT_TOKEN": "xoxb-env", "REGCLEAN_CONFIG": str(cfg)}
    )
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == "xoxb-env"
    assert s.registry_password is not None and s.registry_password.get_secret_value() == "from-dir"
    assert s.platform_password is not None and s.platform_password.get_secret_value() == "yaml-only"


def test_a_value_and_its_file_both_set_is_an_error_naming_both(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text(CANARY)
    with pytest.raises(ConfigError) as err:
        Settings.load({"REGCLEAN_REGISTRY_PASSWORD": "other", "REGCLEAN_REGISTRY_PASSWORD_FILE": str(secret)})
    assert "REGCLEAN_REGISTRY_PASSWORD and REGCLEAN_REGISTRY_PASSWORD_FILE" in str(err.value)
    assert CANARY not in str(err.value)


def test_a_missing_file_names_the_setting_and_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "slack-bot-token"
    with pytest.raises(ConfigError) as err:
        Settings.load({"SLACK_BOT_TOKEN_FILE": str(missing)})
    assert str(err.value) == (
        f"Cannot read SLACK_BOT_TOKEN (from SLACK_BOT_TOKEN_FILE): {missing} does not exist."
    )


def test_an_unreadable_file_names_the_setting_and_the_path_never_the_content(tmp_path: Path) -> None:
    not_a_file = tmp_path / "token"
    not_a_file.mkdir()
    with pytest.raises(ConfigError, match=rf"SLACK_APP_TOKEN_FILE.*{not_a_file} is a directory"):
        Settings.load({"SLACK_APP_TOKEN_FILE": str(not_a_file)})
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe" + CANARY.encode())
    with pytest.raises(ConfigError) as err:
        Settings.load({"SLACK_SIGNING_SECRET_FILE": str(binary)})
    assert f"{binary} is not UTF-8 text" in str(err.value) and "SLACK_SIGNING_SECRET" in str(err.value)
    assert CANARY not in str(err.value)


def test_an_empty_secret_file_is_an_error(tmp_path: Path) -> None:
    directory = mounted_secret(tmp_path / "secrets", {"REGCLEAN_PLATFORM_PASSWORD": "\n"})
    with pytest.raises(
        ConfigError, match=r"REGCLEAN_PLATFORM_PASSWORD \(from REGCLEAN_SECRETS_DIR\): .* is empty"
    ):
        Settings.load({"REGCLEAN_SECRETS_DIR": str(directory)})


def test_a_misspelt_or_non_secret_setting_in_the_directory_is_named(tmp_path: Path) -> None:
    directory = mounted_secret(
        tmp_path / "secrets", {"SLACK_BOT_TOKN": CANARY, "REGCLEAN_REGISTRY_USERNAME": "admin"}
    )
    with pytest.raises(ConfigError) as err:
        Settings.load({"REGCLEAN_SECRETS_DIR": str(directory)})
    message = str(err.value)
    assert "holds REGCLEAN_REGISTRY_USERNAME, SLACK_BOT_TOKN, which are not secret settings" in message
    assert "SLACK_BOT_TOKEN" in message and CANARY not in message


def test_a_missing_secrets_directory_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=rf"REGCLEAN_SECRETS_DIR={tmp_path / 'absent'}: no such directory"):
        Settings.load({"REGCLEAN_SECRETS_DIR": str(tmp_path / "absent")})


def test_secrets_read_from_files_do_not_show_in_the_settings(tmp_path: Path) -> None:
    directory = mounted_secret(
        tmp_path / "secrets", {env_name(f): f"{CANARY}-{f}" for f in secret_settings()}
    )
    s = Settings.load({"REGCLEAN_SECRETS_DIR": str(directory)})
    assert CANARY not in repr(s) and CANARY not in str(s.model_dump())
