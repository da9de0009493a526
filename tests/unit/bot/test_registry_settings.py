"""The registry's transport settings: HTTPS verified with REGCLEAN_REGISTRY_CA_FILE, plain HTTP
only when REGCLEAN_REGISTRY_PLAIN_HTTP says so, and the old REGCLEAN_REGISTRY_INSECURE as its alias."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.cli import main
from bot.config.settings import ConfigError, Settings
from bot.config.targets import registry_target

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def load(**env: str) -> Settings:
    return Settings.load({"REGCLEAN_REGISTRY": "registry.acp:11443", **env})


def test_by_default_the_registry_is_https_verified_with_the_system_cas() -> None:
    settings = load()
    target = registry_target(settings)
    assert (target.base, target.plain_http, target.ca_file) == ("https://registry.acp:11443", False, None)
    assert settings.deprecations() == []


def test_the_ca_file_goes_to_the_target(tmp_path: Path) -> None:
    ca = tmp_path / "platform-ca.pem"
    ca.write_text(PEM)
    target = registry_target(load(REGCLEAN_REGISTRY_CA_FILE=str(ca)))
    assert (target.base, target.ca_file) == ("https://registry.acp:11443", str(ca))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "cannot read '{path}' (No such file or directory)"),
        ("hello\n", "'{path}' holds no PEM certificate"),
    ],
)
def test_a_ca_file_that_is_missing_or_no_certificate_is_refused_by_name(
    tmp_path: Path, content: str | None, problem: str
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as refused:
        load(REGCLEAN_REGISTRY_CA_FILE=str(path))
    assert f"REGCLEAN_REGISTRY_CA_FILE: {problem.format(path=path)}" in str(refused.value)


def test_plain_http_is_the_new_name() -> None:
    target = registry_target(load(REGCLEAN_REGISTRY_PLAIN_HTTP="true"))
    assert (target.base, target.plain_http) == ("http://registry.acp:11443", True)


@pytest.mark.parametrize(("value", "plain"), [("true", True), ("false", False)])
def test_insecure_is_an_alias_of_plain_http_with_a_warning_naming_it(value: str, plain: bool) -> None:
    settings = load(REGCLEAN_REGISTRY_INSECURE=value)
    assert settings.registry_plain_http is plain and registry_target(settings).plain_http is plain
    [warning] = settings.deprecations()
    assert warning.startswith("REGCLEAN_REGISTRY_INSECURE is deprecated")
    assert f"set REGCLEAN_REGISTRY_PLAIN_HTTP={value} instead" in warning


def test_insecure_contradicting_plain_http_is_refused() -> None:
    with pytest.raises(
        ConfigError,
        match=r"REGCLEAN_REGISTRY_INSECURE=true .* contradicts REGCLEAN_REGISTRY_PLAIN_HTTP=false",
    ):
        load(REGCLEAN_REGISTRY_INSECURE="true", REGCLEAN_REGISTRY_PLAIN_HTTP="false")
    assert load(REGCLEAN_REGISTRY_INSECURE="1", REGCLEAN_REGISTRY_PLAIN_HTTP="true").registry_plain_http


def test_the_yaml_key_is_an_alias_too(tmp_path: Path) -> None:
    cfg = tmp_path / "regclean.yaml"
    cfg.write_text("registry: registry.acp:11443\nregistry_insecure: true\n")
    settings = Settings.load({}, config_file=str(cfg))
    assert settings.registry_plain_http and settings.deprecations()


def test_regclean_logs_the_deprecation_at_start_up(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REGCLEAN_REGISTRY", "127.0.0.1:1")  # nothing listens: the check fails at once
    monkeypatch.setenv("REGCLEAN_REGISTRY_INSECURE", "true")
    caplog.set_level(logging.WARNING, logger="regclean.config")
    assert main(["verify", "--format", "json", "acp/core:latest"]) == 1
    [record] = [r for r in caplog.records if r.name == "regclean.config"]
    assert (
        record.levelno == logging.WARNING and "set REGCLEAN_REGISTRY_PLAIN_HTTP=true" in record.getMessage()
    )
    assert "Cannot reach the registry at http://127.0.0.1:1: connection refused" in capsys.readouterr().out
