"""`mc ls` and `mc du`."""

from __future__ import annotations

from datetime import UTC, datetime

from . import messages
from .cli import Invocation, Target, resolve
from .remote import Remote, S3Failure


def ls_cmd(inv: Invocation) -> int:
    """`mc ls [--recursive] ALIAS[/BUCKET[/PREFIX]]`: one line per object (or bucket, or folder)."""
    status = 0
    for text in inv.args or [""]:
        target = resolve(inv, text)
        if target is None:
            status = 1
            continue
        remote = Remote(target.alias, insecure=inv.insecure)
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
    now = datetime.now(UTC)
    for entry in remote.objects(target.bucket, target.prefix, delimiter="" if recursive else "/"):
        if "Prefix" in entry:
            _show(inv, target, now, 0, "", entry["Prefix"][len(base) :], "")
            continue
        key = entry["Key"][len(base) :]
        storage = entry.get("StorageClass") or "STANDARD"
        _show(inv, target, entry["LastModified"], int(entry["Size"]), storage, key, entry.get("ETag", ""))


def _show(
    inv: Invocation, target: Target, when: datetime, size: int, storage: str, key: str, etag: str
) -> None:
    if inv.json:
        url = f"{target.alias.url}/{target.bucket}/" if target.bucket else f"{target.alias.url}/"
        messages.emit(messages.ls_json(when, size, storage, key, etag, url), True, "")
    else:
        print(messages.ls_line(when, size, storage, key))


def du_cmd(inv: Invocation) -> int:
    """`mc du ALIAS/BUCKET[/PREFIX]`: total size and object count (bytes exact with `--json`)."""
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
            messages.error(f"Source `{text}` is not a folder. Only folders are supported by 'du' command.")
            status = 1
            continue
        remote = Remote(target.alias, insecure=inv.insecure)
        try:
            size = count = 0
            for entry in remote.objects(target.bucket, target.prefix):
                size += int(entry["Size"])
                count += 1
        except S3Failure as err:
            messages.error(f"Failed to summarize disk usage `{text}`.", str(err), inv.json)
            status = 1
            continue
        finally:
            remote.close()
        messages.du(f"{target.bucket}/{target.prefix}".strip("/"), size, count, inv.json)
    return status
