"""Reading mc's output: counts come from `--json` lines, never from mc's English, which changed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from actions.mc import (
    Tally,
    Usage,
    errors_of,
    parse_du,
    parse_versioning,
    purge_command,
    readable,
    usage_command,
)


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
    info = {"Op": "info", "status": "success", "url": "minio/registry", "versioning": {"status": "Enabled"}}
    assert parse_versioning([json.dumps(info)]) == "Enabled"
    info["versioning"] = {"status": ""}
    assert parse_versioning([json.dumps(info)]) == ""
    assert parse_versioning(["minio/registry is un-versioned"]) is None
    assert readable("plain line") == "plain line"


# What mc prints, from minio/mc cmd/du-main.go (duMessage, compacted under --json without a terminal)
# and cmd/error.go (errors always indented with MarshalIndent).
DU_LINE = '{"prefix":"registry","size":4509715660,"objects":1234,"status":"success","isVersions":false}'
DU_ERROR = """{
 "status": "error",
 "error": {
  "message": "Failed to find disk usage of `minio/registry` recursively.",
  "cause": {
   "message": "Access Denied.",
   "error": {
    "Code": "AccessDenied",
    "Message": "Access Denied.",
    "BucketName": "registry"
   }
  },
  "type": "error"
 }
}"""


def test_du_json_gives_bytes_objects_and_whether_versions_counted() -> None:
    assert parse_du(DU_LINE) == Usage(4_509_715_660, 1234, versions=False)
    versions = DU_LINE.replace('"isVersions":false', '"isVersions":true')
    assert parse_du("Added `minio` successfully.\n" + versions) == Usage(4_509_715_660, 1234, versions=True)
    assert parse_du('{"prefix":"registry","size":0,"objects":0,"status":"success"}') == Usage(0, 0, False)


def test_du_that_printed_no_usage_is_none_and_its_indented_error_is_read_whole() -> None:
    assert parse_du(DU_ERROR) is None
    assert parse_du("") is None
    assert parse_du('{"prefix":"registry","size":"many","objects":1,"status":"success"}') is None
    assert errors_of(DU_ERROR) == [
        "mc: Failed to find disk usage of `minio/registry` recursively. Access Denied."
    ]
    assert errors_of(
        "mc: <ERROR> Unable to initialize new alias from the provided credentials. Access Denied."
    ) == ["mc: Unable to initialize new alias from the provided credentials. Access Denied."]
    compact = json.dumps(json.loads(DU_ERROR), separators=(",", ":"))
    assert errors_of(compact + "\n" + DU_LINE) == errors_of(DU_ERROR), "one line or many, the same error"
    assert parse_du(DU_ERROR + "\n" + DU_LINE) == Usage(4_509_715_660, 1234, False)
    assert parse_du("{ not json\n" + DU_LINE) == Usage(4_509_715_660, 1234, False)


def test_an_indented_error_between_removals_is_read_as_one_and_the_counting_goes_on() -> None:
    tally = Tally()
    for line in [removal("minio/registry/a"), *DU_ERROR.splitlines(), removal("minio/registry/b")]:
        tally.line(1, line)
    assert tally.counted == 2
    assert tally.errors == ["mc: Failed to find disk usage of `minio/registry` recursively. Access Denied."]
    endless = Tally()
    for line in ["{", *(f' "k{i}": {i},' for i in range(300)), removal("minio/registry/c")]:
        endless.line(1, line)
    assert endless.errors == [] and endless.counted == 1, "a `{` that never closes does not swallow the rest"
