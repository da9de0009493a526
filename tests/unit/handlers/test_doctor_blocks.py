"""The doctor's Slack table, the command's roles, and the scopes it expects."""

from __future__ import annotations

from pathlib import Path

import yaml
from slack_sdk.models.blocks import Block as SdkBlock

from bot.config.settings import Settings
from bot.core.authz import COMMAND_ROLES, Role
from bot.doctor.installer import command_line_secrets
from bot.doctor.model import Check, DoctorReport
from bot.doctor.render import doctor_lines
from bot.doctor.slack import BOT_SCOPES
from handlers.blocks.doctor import doctor_blocks, doctor_text

ROOT = Path(__file__).resolve().parents[3]


def report(*failed: str) -> DoctorReport:
    names = ["auth.test", "scopes", "violet"]
    return DoctorReport(
        tuple(
            Check(
                "slack" if n != "violet" else "installer",
                n,
                n not in failed,
                f"saw {n}",
                "" if n not in failed else f"fix {n}",
            )
            for n in names
        )
    )


def test_a_failed_check_shows_its_remedy_and_the_verdict_counts_it() -> None:
    blocks = doctor_blocks(report("violet"))
    text = "\n".join(b["text"]["text"] for b in blocks)
    assert doctor_text(report("violet")) == "regclean doctor: 1 of 3 checks failed"
    assert ":x: *violet*: saw violet\n    → fix violet" in text
    assert ":white_check_mark: auth.test: saw auth.test" in text
    assert [b["text"]["text"].split("\n")[0] for b in blocks[2:]] == ["*slack*", "*installer*"]
    assert all(SdkBlock.parse(b) is not None for b in blocks)


def test_a_passing_report_says_so() -> None:
    assert doctor_text(report()) == "regclean doctor: all 3 checks passed"


def test_operators_and_approvers_may_run_the_doctor() -> None:
    assert COMMAND_ROLES["doctor"] == {Role.OPERATOR, Role.APPROVER}


def test_the_scopes_the_doctor_expects_are_the_manifests() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


def test_a_warning_passes_but_shows_what_to_change() -> None:

    checks = command_line_secrets(Settings.load({}), "10.0.0.9")
    assert [(c.name, c.status) for c in checks] == [
        ("upload.sh password", "warn"),
        ("violet password", "warn"),
    ]
    assert "REGCLEAN_PLATFORM_TOKEN" in checks[1].remedy and "10.0.0.9" in checks[1].detail
    with_token = command_line_secrets(Settings.load({"REGCLEAN_PLATFORM_TOKEN": "t0ken"}), "10.0.0.9")
    assert [c.name for c in with_token] == ["upload.sh password"]
    warned = DoctorReport((*report().checks, *checks))
    assert warned.passed and warned.as_dict()["checks"][-1]["status"] == "warn"
    assert doctor_lines(warned)[-1] == "every check passed (2 with a warning)"
    text = "\n".join(b["text"]["text"] for b in doctor_blocks(warned))
    assert ":warning: violet password: violet push will take the platform password" in text
