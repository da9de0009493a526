"""`mc ls` and `mc du`."""

from __future__ import annotations

from datetime import UTC, datetime

from . import config, messages
from .cli import Invocation, Target, resolve
from .remote import Remote, S3Failure


def ls_cmd(inv: Invocation) -> int:
    """`mc ls [--recursive] [--versions] ALIAS[/BUCKET[/PREFIX]]`: one line per object (or bucket, or folder)."""
    status = 0
    for text in inv.args or [""]:
        target = resolve(inv, text)
        if target is None:
            status = 1
            continue
        remote = Remote(target.alias, insecure=inv.insecure, list_denied=listing_denied(inv))
        try:
            _list(inv, remote, target)
        except S3Failure as err:
            messages.error("Unable to list folder.", str(err), inv.json)
            status = 1
        finally:
            remote.close()
    return status


def _list(inv: Invocation, remote: Remote, target: Target) -> None:
    recursive = bool(inv.flags & {"recursive", "r"})
    if not target.bucket:
        for bucket in remote.buckets():
            _show(inv, target, bucket["CreationDate"], 0, "", bucket["Name"] + "/", "")
        return
    base = target.prefix[: target.prefix.rfind("/") + 1]
    if "versions" in inv.flags:
        _list_versions(inv, remote, target, base, recursive)
        return
    now = datetime.now(UTC)
    for entry in remote.objects(target.bucket, target.prefix, delimiter="" if recursive else "/"):
        if "Prefix" in entry:
            _show(inv, target, now, 0, "", entry["Prefix"][len(base) :], "")
            continue
        key = entry["Key"][len(base) :]
        storage = entry.get("StorageClass") or "STANDARD"
        _show(inv, target, entry["LastModified"], int(entry["Size"]), storage, key, entry.get("ETag", ""))


def _list_versions(inv: Invocation, remote: Remote, target: Target, base: str, recursive: bool) -> None:
    """`ls --versions`: every version and delete marker, each key's newest first with the highest ordinal."""
    now = datetime.now(UTC)
    folders: set[str] = set()
    entries = list(remote.versions(target.bucket, target.prefix))
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry["Key"]] = counts.get(entry["Key"], 0) + 1
    seen: dict[str, int] = {}
    for entry in entries:
        key = entry["Key"][len(base) :]
        if not recursive and "/" in key:
            folder = key[: key.index("/") + 1]
            if folder not in folders:
                folders.add(folder)
                _show(inv, target, now, 0, "", folder, "")
            continue
        index = seen[entry["Key"]] = seen.get(entry["Key"], 0) + 1
        version = messages.Version(
            str(entry.get("VersionId") or "null"), counts[entry["Key"]] - index + 1, entry["DeleteMarker"]
        )
        storage = "" if entry["DeleteMarker"] else entry.get("StorageClass") or "STANDARD"
        _show(
            inv,
            target,
            entry["LastModified"],
            int(entry["Size"]),
            storage,
            key,
            entry.get("ETag", ""),
            version,
        )


def _show(
    inv: Invocation,
    target: Target,
    when: datetime,
    size: int,
    storage: str,
    key: str,
    etag: str,
    version: messages.Version | None = None,
) -> None:
    if inv.json:
        url = f"{target.alias.url}/{target.bucket}/" if target.bucket else f"{target.alias.url}/"
        messages.emit(messages.ls_json(when, size, storage, key, etag, url, version), True, "")
    else:
        print(messages.ls_line(when, size, storage, key, version))


def du_cmd(inv: Invocation) -> int:
    """`mc du [--versions] ALIAS/BUCKET[/PREFIX/]` as mc's `cmd/du-main.go` at its default depth: one
    message with the target's bytes and object count (exact with `--json`).

    Without `--versions` only current objects count: in a versioned bucket, noncurrent versions and
    delete markers are hidden, though their bytes are still stored. With it every version counts,
    and delete markers never do. A target that is no folder (an alias alone) is fatal; a listing
    that fails (no such bucket, access denied, the server gone) is mc's `errorIf`, status 1.
    """
    versions = "versions" in inv.flags
    if not inv.args:
        messages.error("Invalid command usage: `du` needs a TARGET.")
        return 1
    status = 0
    for text in inv.args:
        target = resolve(inv, text)
        if target is None:
            status = 1
            continue
        if not target.bucket:
            messages.error(
                f"Source `{text}` is not a folder. Only folders are supported by 'du' command.",
                INVALID_ARGUMENT,
                inv.json,
            )
            return 1  # fatalIf: mc exits at once
        remote = Remote(target.alias, insecure=inv.insecure, list_denied=listing_denied(inv))
        try:
            size = count = 0
            listed = (
                remote.versions(target.bucket, target.prefix)
                if versions
                else remote.objects(target.bucket, target.prefix)
            )
            for entry in listed:
                if not entry.get("DeleteMarker"):
                    size += int(entry["Size"])
                    count += 1
        except S3Failure as err:
            messages.error(
                f"Failed to find disk usage of `{text}` recursively.",
                str(err),
                inv.json,
                fatal=False,
            )
            status = 1
            continue
        finally:
            remote.close()
        messages.du(f"{target.bucket}/{target.prefix}".strip("/"), size, count, inv.json, versions=versions)
    return status


INVALID_ARGUMENT = "Invalid arguments provided, please refer `mc <command> -h` for relevant documentation."
"""mc's `errInvalidArgument`."""


def listing_denied(inv: Invocation) -> bool:
    """Whether the sandbox's switch has MinIO refuse listings to these keys."""
    return config.listing_denied(config.config_dir(inv.config_dir))
