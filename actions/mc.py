"""The `mc` command lines the purge runs in the MinIO pod, and how their output is read.

Output is read from mc's `--json` lines (one JSON object a line, each with a `status`), which mc
has kept stable across releases, and never from its English: the removal line read `Removing`,
then `Remove`, then `Removed`, and a versioned bucket answers `Created delete marker`.

A versioned bucket (versioning `Enabled`, or `Suspended` with older versions kept) is not emptied
by `mc rm --recursive --force`: S3 only adds a delete marker per object, `mc ls` and `mc du` then
hide the objects, and every byte stays stored. On such a bucket each command here takes
`--versions`, so the purge removes every version and delete marker, and the sizes and counts
before and after include them (docs/architecture.md, "Verification").
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from typing import Any, Protocol

VERSIONED = frozenset({"Enabled", "Suspended"})
"""Versioning states whose bucket may hold versions that only `--versions` reaches."""


class McTarget(Protocol):
    """What the command lines need to know of MinIO: the env file with the keys, the URL, the bucket."""

    @property
    def env_file(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def bucket(self) -> str: ...


def alias(target: McTarget, *, quiet: bool = True) -> str:
    """Load the keys from the pod's env file and name the server `minio` for the commands after it."""
    return (
        f". {shlex.quote(target.env_file)} && mc --insecure alias set minio "
        f'{shlex.quote(target.url)} "$MINIO_ACCESS_KEY" "$MINIO_SECRET_KEY"'
        + (" >/dev/null" if quiet else "")
    )


def _versions(versioned: bool) -> str:
    return " --versions" if versioned else ""


def purge_command(target: McTarget, *, versioned: bool) -> str:
    """The runbook's purge command, with the configured env file, URL and bucket (quoted); on a
    versioned bucket it removes every version and delete marker."""
    return (
        f"{alias(target, quiet=False)} && mc --insecure --json rm --recursive --force{_versions(versioned)} "
        + shlex.quote(f"minio/{target.bucket}/")
    )


def usage_command(target: McTarget, *, versioned: bool) -> str:
    """`mc du --json` of the bucket; with `--versions`, every version's bytes count."""
    return f"{alias(target)} && mc --insecure --json du{_versions(versioned)} " + shlex.quote(
        f"minio/{target.bucket}"
    )


def listing_command(target: McTarget, *, versioned: bool) -> str:
    """`mc ls --recursive --json`: what the bucket still holds; with `--versions`, delete markers too."""
    return f"{alias(target)} && mc --insecure --json ls --recursive{_versions(versioned)} " + shlex.quote(
        f"minio/{target.bucket}/"
    )


def versioning_command(target: McTarget) -> str:
    """`mc version info --json` of the bucket."""
    return f"{alias(target)} && mc --insecure --json version info " + shlex.quote(f"minio/{target.bucket}")


def parse_line(text: str) -> dict[str, Any] | None:
    """One `--json` line as a mapping; None for anything else (the alias line, a blank line)."""
    text = text.strip()
    if not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def readable(text: str) -> str:
    """A line as a person should read it: an mc JSON error as `MESSAGE CAUSE`, anything else as is."""
    doc = parse_line(text)
    if doc is None or doc.get("status") != "error":
        return text
    return error_text(doc)


@dataclass
class Tally:
    """Counts what mc's JSON lines report: objects (or versions) removed or listed, and errors.

    mc prints its messages one compact line each, but its errors indented over several lines, from
    a line `{` to a line `}` (`messages`): those lines are gathered, up to `ERROR_LINES`, and read
    as one.
    """

    counted: int = 0
    errors: list[str] = field(default_factory=list)
    _error: list[str] = field(default_factory=list, repr=False)
    """The lines of an indented error read so far."""

    def line(self, channel: int, text: str) -> None:
        """Called in the exec's worker thread for every line: only counters change here."""
        if channel != 1:
            return
        if self._error or text == "{":
            self._error.append(text)
            if text != "}" and len(self._error) < ERROR_LINES:
                return
            text, self._error = "".join(self._error), []
        doc = parse_line(text)
        if doc is None:
            return
        if doc.get("status") == "success" and "key" in doc and doc.get("type", "file") != "folder":
            self.counted += 1
        elif doc.get("status") == "error" and len(self.errors) < 5:
            self.errors.append(error_text(doc))


ERROR_LINES = 200
"""An indented mc error longer than this is not read as one (it is no error mc prints)."""


@dataclass(frozen=True)
class Usage:
    """What `mc du --json` measured: the bucket's bytes and objects."""

    bytes: int
    objects: int
    """Objects, or with `versions` every object version (delete markers never count, as in mc)."""
    versions: bool
    """Counted with `--versions` (mc's `isVersions`): noncurrent versions' bytes are included."""


def messages(text: str) -> list[dict[str, Any]]:
    """Every JSON object in mc's output, in order: its messages come one compact object a line
    under `--json` without a terminal, but its errors are always indented over several lines
    (`cmd/error.go` prints them with `MarshalIndent`); any other text is skipped."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    index = 0
    while (start := text.find("{", index)) != -1:
        try:
            doc, index = decoder.raw_decode(text, start)
        except ValueError:
            index = start + 1
            continue
        if isinstance(doc, dict):
            found.append(doc)
    return found


def error_text(doc: dict[str, Any]) -> str:
    """An mc JSON error as `mc: MESSAGE CAUSE`."""
    raw = doc.get("error")
    error: dict[str, Any] = raw if isinstance(raw, dict) else {}
    raw = error.get("cause")
    cause: dict[str, Any] = raw if isinstance(raw, dict) else {}
    return f"mc: {error.get('message') or 'error'} {cause.get('message') or ''}".strip()


def parse_du(text: str) -> Usage | None:
    """`mc du --json` output → the usage it printed for its target; None when it printed none.

    With mc's default depth a single message is printed, for the target itself.
    """
    for doc in reversed(messages(text)):
        if doc.get("status") == "success" and "size" in doc and "objects" in doc:
            try:
                return Usage(int(doc["size"]), int(doc["objects"]), bool(doc.get("isVersions", False)))
            except (TypeError, ValueError):
                return None
    return None


def errors_of(text: str) -> list[str]:
    """mc's errors in its output, as people read them: JSON errors, and `mc: <ERROR>` lines (stderr)."""
    said = [error_text(doc) for doc in messages(text) if doc.get("status") == "error"]
    for line in text.splitlines():
        if line.startswith("mc: <ERROR> "):
            said.append("mc: " + line.removeprefix("mc: <ERROR> ").strip())
    return said


def parse_versioning(lines: list[str]) -> str | None:
    """`mc version info --json` → `Enabled`, `Suspended` or "" (never versioned); None if unread."""
    for text in lines:
        doc = parse_line(text)
        if doc is not None and doc.get("status") == "success" and isinstance(doc.get("versioning"), dict):
            return str(doc["versioning"].get("status") or "")
    return None
