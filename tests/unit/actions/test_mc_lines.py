"""Reading mc's output: counts come from `--json` lines, never from mc's English, which changed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from actions.mc import Tally, parse_usage, parse_versioning, purge_command, readable, usage_command


@dataclass(frozen=True)
class Target:
    env_file: str = "/etc/config/minio.env"
    url: str = "https://127.0.0.1:9000"
    bucket: str = "registry"


def removal(key: str, *, marker: bool = False, version: str = "") -> str:
    doc = {"status": "success", "key": key, "deleteMarker": marker, "versionID": version}
    return json.dumps(doc, separators=(",", ":"))


def test_the_purge_command_takes_versions_only_on_a_versioned_bucket() -> None:
    plain = purge_command(Target(), versioned=False)
    versioned = purge_command(Target(), versioned=True)
    assert plain.endswith("mc --insecure --json rm --recursive --force minio/registry/")
    assert versioned.endswith("mc --insecure --json rm --recursive --force --versions minio/registry/")
    assert ". /etc/config/minio.env && mc --insecure alias set minio" in plain
    assert usage_command(Target(), versioned=True).endswith("du --versions minio/registry")


def test_removals_are_counted_from_json_whatever_the_wording_and_errors_kept() -> None:
    tally = Tally()
    lines = [
        "Added `minio` successfully.",
        "Removing `minio/registry/a`.",  # an mc that ignored --json would not be counted
        removal("minio/registry/a"),
        removal("minio/registry/b", marker=True, version="v1"),
        json.dumps({"status": "success", "type": "folder", "key": "docker/"}),
        json.dumps(
            {
                "status": "error",
                "error": {"message": "Failed to remove", "cause": {"message": "Access Denied."}},
            }
        ),
    ]
    for line in lines:
        tally.line(1, line)
    tally.line(2, removal("minio/registry/c"))  # stderr never counts
    assert tally.counted == 2
    assert tally.errors == ["mc: Failed to remove Access Denied."]


def test_usage_and_versioning_are_read_from_json_and_missing_means_unknown() -> None:
    assert parse_usage(["Added", '{"prefix":"registry","size":42,"objects":3,"status":"success"}']) == (42, 3)
    assert parse_usage(["mc: <ERROR> Unable to"]) is None
    info = {"Op": "info", "status": "success", "url": "minio/registry", "versioning": {"status": "Enabled"}}
    assert parse_versioning([json.dumps(info)]) == "Enabled"
    info["versioning"] = {"status": ""}
    assert parse_versioning([json.dumps(info)]) == ""
    assert parse_versioning(["minio/registry is un-versioned"]) is None
    assert readable("plain line") == "plain line"
