"""What MinIO's `mc` prints: its human lines, its `--json` lines and its error lines.

The shapes follow mc's message types (`cmd/*-main.go`): sizes with go-humanize's IEC units and
the space removed (`1.2KiB`), times as `[2006-01-02 15:04:05 MST]`, and errors as
`mc: <ERROR> MESSAGE CAUSE` on stderr, with mc's punctuation between the two.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

PROGRAM = "mc"
_IEC = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def ibytes(size: int) -> str:
    """go-humanize `IBytes` without its space, as mc shows sizes: `0B`, `512B`, `1.5KiB`, `12MiB`."""
    if size < 10:
        return f"{size}B"
    # As go-humanize computes it, float logarithms included.
    exponent = math.floor(math.log(size) / math.log(1024))
    value = math.floor(size / 1024**exponent * 10 + 0.5) / 10
    return f"{value:.1f}{_IEC[exponent]}" if value < 10 else f"{value:.0f}{_IEC[exponent]}"


def emit(doc: dict[str, Any], json_mode: bool, human: str) -> None:
    """One message on stdout: compact JSON (mc's JSON lines when stdout is not a terminal) or text."""
    print(json.dumps(doc, separators=(",", ":")) if json_mode else human)


@dataclass(frozen=True)
class Version:
    """What `ls --versions` adds to an entry: its id, its ordinal (the newest has the highest)."""

    version_id: str
    ordinal: int
    delete_marker: bool


def ls_line(
    modified: datetime, size: int, storage_class: str, key: str, version: Version | None = None
) -> str:
    """`[2026-11-27 20:01:02 UTC]  1.2KiB STANDARD key`; with a version, `… STANDARD ID v2 PUT key`."""
    stamp = modified.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    klass = f" {storage_class}" if storage_class else ""
    desc = ""
    if version is not None:
        desc = f" {version.version_id} v{version.ordinal} {'DEL' if version.delete_marker else 'PUT'}"
    return f"[{stamp}]{ibytes(size):>7}{klass}{desc} {key}"


def ls_json(
    modified: datetime,
    size: int,
    storage_class: str,
    key: str,
    etag: str,
    url: str,
    version: Version | None = None,
) -> dict[str, Any]:
    """mc's `contentMessage` for `ls --json`."""
    doc: dict[str, Any] = {
        "status": "success",
        "type": "folder" if key.endswith("/") else "file",
        "lastModified": modified.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "size": size,
        "key": key,
        "etag": etag.strip('"'),
        "url": url,
    }
    if version is not None:
        doc |= {"versionId": version.version_id, "versionOrdinal": version.ordinal}
        if version.delete_marker:
            doc["isDeleteMarker"] = True
    if storage_class:
        doc["storageClass"] = storage_class
    return doc


def removed(
    key: str,
    json_mode: bool,
    *,
    dry_run: bool = False,
    version_id: str = "",
    delete_marker: bool = False,
    release: str = "9999-12-31",
) -> None:
    """mc's `rmMessage`: ``Removed `ALIAS/BUCKET/KEY` (versionId=ID).``, or ``Created delete marker …``
    when a versioned bucket only hid the object. `release` (an ISO date) picks the wording of the
    mc of that day: `Removing`/`Creating delete marker` before 2022-07-30, `Remove` until 2022-08-05.
    """
    if release < "2022-07-30":
        verb, marker = "Removing", "Creating delete marker"
    elif release < "2022-08-05":
        verb, marker = "Remove", "Creating delete marker"
    else:
        verb, marker = "Removed", "Created delete marker"
    human = f"{marker if delete_marker else 'DRYRUN: Removing' if dry_run else verb} `{key}`"
    if version_id:
        human += f" (versionId={version_id})"
    doc: dict[str, Any] = {
        "status": "success",
        "key": key,
        "deleteMarker": delete_marker,
        "versionID": version_id,
    }
    if release >= "2022-07-30":
        doc |= {"modTime": None, "dryRun": dry_run}
    emit(doc, json_mode, human + ".")


def versioning(url: str, status: str, json_mode: bool, op: str = "info") -> None:
    """mc's `version info|enable|suspend` message: ``ALIAS/BUCKET versioning is enabled``."""
    if op == "info" and not status:
        human = f"{url} is un-versioned"
    else:
        human = f"{url} versioning is {status.lower()}"
    doc = {"Op": op, "status": "success", "url": url, "versioning": {"status": status, "MFADelete": ""}}
    emit(doc, json_mode, human)


def du(prefix: str, size: int, objects: int, json_mode: bool, *, versions: bool = False) -> None:
    """`1.2MiB<TAB>42 objects<TAB>registry` (mc's `duMessage`); `N versions` with `--versions`."""
    noun = "version" if versions else "object"
    human = f"{ibytes(size)}\t{objects} {noun}{'' if objects == 1 else 's'}\t{prefix}"
    doc = {"prefix": prefix, "size": size, "objects": objects, "status": "success", "isVersions": versions}
    emit(doc, json_mode, human)


def alias_added(alias: str, url: str, access_key: str, json_mode: bool) -> None:
    """``Added `ALIAS` successfully.``; unlike mc's JSON, never with the secret key."""
    doc = {
        "status": "success",
        "alias": alias,
        "url": url,
        "accessKey": access_key,
        "api": "s3v4",
        "path": "auto",
    }
    emit(doc, json_mode, f"Added `{alias}` successfully.")


def error(message: str, cause: str = "", json_mode: bool = False, *, fatal: bool = True) -> None:
    """mc's `fatalIf` (`fatal`) or `errorIf`: `mc: <ERROR> MESSAGE CAUSE` on stderr; without `fatal`
    the two are joined as they are, with it mc's punctuation goes between them.

    Under `--json` the error goes to stdout indented over several lines, as `cmd/error.go` prints it
    (`MarshalIndent` with one space, even when stdout is no terminal: only `printMsg` compacts),
    with `type` `fatal` or `error`.
    """
    message, cause = message.strip(), cause.strip()
    if json_mode:  # as given: mc punctuates only the line it prints for people
        doc = {
            "status": "error",
            "error": {
                "message": message,
                "cause": {"message": cause, "error": {}},
                "type": "fatal" if fatal else "error",
            },
        }
        print(json.dumps(doc, indent=" ", ensure_ascii=False))
        return
    if message and cause and fatal:
        if message[-1] not in ":.":
            message += "." if cause[0].isupper() else ":"
        if not cause.endswith("."):
            cause += "."
    line = f"{message} {cause}" if cause else message
    print(f"{PROGRAM}: <ERROR> {line}", file=sys.stderr)
