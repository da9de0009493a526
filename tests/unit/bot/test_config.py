"""Settings: documented names, the YAML file under the environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config.reference import reference_markdown
from bot.config.settings import ConfigError, Settings

README = Path(__file__).resolve().parents[3] / "README.md"


def test_environment_names_are_the_documented_ones() -> None:
    s = Settings.load(
        {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "REGCLEAN_OPERATORS": "U1, @platform-ops ,U2",
            "REGCLEAN_PORT": "8080",
            "KUBECONFIG": "/etc/kc",
            "DATABASE_URL": "sqlite:////var/lib/regclean.db",
        }
    )
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == "xoxb-1"
    assert s.operators == ("U1", "@platform-ops", "U2")
    assert s.port == 8080
    assert s.kubeconfig == "/etc/kc"
    assert s.database_url.get_secret_value() == "sqlite:////var/lib/regclean.db"


def test_the_environment_overrides_the_yaml_file(tmp_path: Path) -> None:
    cfg = tmp_path / "regclean.yaml"
    cfg.write_text("port: 4000\nhost: 127.0.0.1\noperators: [U9, '@ops']\n")
    s = Settings.load({"REGCLEAN_CONFIG": str(cfg), "REGCLEAN_PORT": "5000"})
    assert (s.host, s.port, s.operators) == ("127.0.0.1", 5000, ("U9", "@ops"))


def test_an_unknown_yaml_key_is_named(tmp_path: Path) -> None:
    cfg = tmp_path / "regclean.yaml"
    cfg.write_text("prot: 4000\n")
    with pytest.raises(ConfigError, match=r"Unknown setting.*prot"):
        Settings.load({}, config_file=str(cfg))


def test_a_bad_value_names_the_variable_and_does_not_echo_it() -> None:
    with pytest.raises(ConfigError) as err:
        Settings.load({"REGCLEAN_PORT": "not-a-port-s3cr3t"})
    assert "REGCLEAN_PORT" in str(err.value)
    assert "s3cr3t" not in str(err.value)


def test_a_malformed_access_entry_is_refused() -> None:
    with pytest.raises(ConfigError, match="REGCLEAN_APPROVERS"):
        Settings.load({"REGCLEAN_APPROVERS": "U1,#channel"})


def test_require_names_every_missing_setting() -> None:
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN, SLACK_CHANNEL"):
        Settings.load({}).require("slack_bot_token", "slack_channel")


def test_secrets_do_not_show_in_the_settings_repr() -> None:
    s = Settings.load({"SLACK_BOT_TOKEN": "xoxb-canary-123", "SLACK_SIGNING_SECRET": "canary-secret"})
    assert "canary" not in repr(s)
    assert "canary" not in str(s.model_dump())


def test_the_readme_configuration_reference_is_generated_from_the_settings_class() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index("<!-- config-reference:start -->") + len("<!-- config-reference:start -->\n")
    end = text.index("<!-- config-reference:end -->")
    assert text[start:end] == reference_markdown(), (
        "run `python -m bot.config.reference` and paste it into the README"
    )


def test_recurring_windows_are_entries_separated_by_semicolons() -> None:
    s = Settings.load(
        {
            "REGCLEAN_WINDOWS": "0 2 * * SAT 4h;  0 22 * * WED,FRI   2h",
            "REGCLEAN_WINDOWS_TIMEZONE": "Asia/Shanghai",
        }
    )
    assert s.windows == ("0 2 * * SAT 4h", "0 22 * * WED,FRI 2h")
    assert s.windows_timezone == "Asia/Shanghai"
    assert Settings.load({}).windows == () and Settings.load({}).windows_timezone == "UTC"


def test_a_yaml_list_of_windows_keeps_the_commas_of_its_cron_fields(tmp_path: Path) -> None:
    cfg = tmp_path / "regclean.yaml"
    cfg.write_text("windows:\n  - 0 2 * * SAT,SUN 4h\n  - 30 22 * * WED 90m\n")
    assert Settings.load({}, config_file=str(cfg)).windows == ("0 2 * * SAT,SUN 4h", "30 22 * * WED 90m")


def test_a_malformed_window_is_refused_at_load_time_naming_the_setting() -> None:
    with pytest.raises(ConfigError) as err:
        Settings.load({"REGCLEAN_WINDOWS": "0 2 * * SAT 4h; 0 25 * * SUN 4h"})
    assert str(err.value).startswith("Invalid configuration: REGCLEAN_WINDOWS:")
    assert "'0 25 * * SUN 4h' is not a recurring window" in str(err.value)
    with pytest.raises(ConfigError, match=r"REGCLEAN_WINDOWS:.*weekday by name"):
        Settings.load({"REGCLEAN_WINDOWS": "0 2 * * 6 4h"})


def test_an_unknown_windows_timezone_is_refused_naming_the_setting() -> None:
    with pytest.raises(
        ConfigError, match=r"REGCLEAN_WINDOWS_TIMEZONE: .*'Europe/Berln' is not an IANA time zone"
    ):
        Settings.load({"REGCLEAN_WINDOWS_TIMEZONE": "Europe/Berln"})


@pytest.mark.parametrize(
    "name",
    [
        "ab",
        "Registry",
        "-registry",
        "registry-",
        "reg..istry",
        "reg.-x",
        "10.0.0.1",
        "a" * 64,
        "reg/istry",
    ],
)
def test_a_bucket_name_s3_would_refuse_is_refused_before_it_reaches_mc(name: str) -> None:
    with pytest.raises(ConfigError, match=r"REGCLEAN_MINIO_BUCKET: .*is not a valid bucket name"):
        Settings.load({"REGCLEAN_MINIO_BUCKET": name})


def test_an_empty_bucket_name_from_the_yaml_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "regclean.yaml").write_text('minio_bucket: ""\n')
    with pytest.raises(ConfigError, match=r"REGCLEAN_MINIO_BUCKET: .*'' is not a valid bucket name"):
        Settings.load({}, str(tmp_path / "regclean.yaml"))


@pytest.mark.parametrize("name", ["registry", "reg-1.images", "a" * 63, "123"])
def test_a_valid_bucket_name_is_kept(name: str) -> None:
    assert Settings.load({"REGCLEAN_MINIO_BUCKET": name}).minio_bucket == name


@pytest.mark.parametrize("self_approval", ["false", "true"])
def test_one_approval_is_refused_unless_accepted_in_so_many_words(self_approval: str) -> None:
    env = {"REGCLEAN_APPROVALS_REQUIRED": "1", "REGCLEAN_ALLOW_SELF_APPROVAL": self_approval}
    with pytest.raises(ConfigError, match="two-person rule no longer holds") as err:
        Settings.load(env)
    assert "REGCLEAN_SINGLE_APPROVER_ACCEPTED=true" in str(err.value)
    assert ("lets the requester be that approver" in str(err.value)) is (self_approval == "true")
    accepted = Settings.load({**env, "REGCLEAN_SINGLE_APPROVER_ACCEPTED": "true"})
    assert accepted.approvals_required == 1


def test_two_approvals_need_no_acceptance() -> None:
    assert Settings.load({"REGCLEAN_APPROVALS_REQUIRED": "2"}).approvals_required == 2
