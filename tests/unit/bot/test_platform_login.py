"""How `violet push` logs in to the platform: the token when one is configured, else user and password."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.settings import Settings
from bot.core.errors import ConfigError
from bot.steps.restore.progress import PlatformLogin, platform_login

URL = "https://acp.example"


def test_a_token_wins_and_no_username_or_password_is_passed() -> None:
    settings = Settings.load(
        {
            "REGCLEAN_PLATFORM_URL": URL,
            "REGCLEAN_PLATFORM_TOKEN": "tok-CANARY",
            "REGCLEAN_PLATFORM_USERNAME": "admin",
            "REGCLEAN_PLATFORM_PASSWORD": "pw-CANARY",
        }
    )
    assert platform_login(settings) == PlatformLogin(URL, token="tok-CANARY")
    assert "CANARY" not in repr(platform_login(settings)) and "CANARY" not in repr(settings)


def test_without_a_token_the_username_and_password_are_needed() -> None:
    login = platform_login(
        Settings.load(
            {
                "REGCLEAN_PLATFORM_URL": URL,
                "REGCLEAN_PLATFORM_USERNAME": "admin",
                "REGCLEAN_PLATFORM_PASSWORD": "pw",
            }
        )
    )
    assert login == PlatformLogin(URL, "admin", "pw") and login.token is None
    with pytest.raises(ConfigError, match="REGCLEAN_PLATFORM_USERNAME, REGCLEAN_PLATFORM_PASSWORD"):
        platform_login(Settings.load({"REGCLEAN_PLATFORM_URL": URL}))
    with pytest.raises(ConfigError, match="REGCLEAN_PLATFORM_URL"):
        platform_login(Settings.load({"REGCLEAN_PLATFORM_TOKEN": "t"}))


def test_the_token_can_come_from_a_file_as_a_mounted_secret(tmp_path: Path) -> None:
    secret = tmp_path / "platform-token"
    secret.write_text("tok-from-file\n")
    settings = Settings.load({"REGCLEAN_PLATFORM_URL": URL, "REGCLEAN_PLATFORM_TOKEN_FILE": str(secret)})
    assert platform_login(settings) == PlatformLogin(URL, token="tok-from-file")
