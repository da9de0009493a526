"""`mc rm`: one object, or everything under a prefix with `--recursive --force`."""

from __future__ import annotations

from . import messages
from .cli import Invocation, Target, resolve
from .remote import Remote, S3Failure

BATCH = 1000  # keys per DeleteObjects request, S3's limit
FORCE_NEEDED = (
    "Removal requires --force flag. This operation is *IRREVERSIBLE*. "
    "Please review carefully before performing this *DANGEROUS* operation."
)
RECURSIVE_NEEDED = FORCE_NEEDED.replace("--force", "--recursive")
DANGEROUS_NEEDED = (
    "This operation results in site-wide removal of objects. "
    "If you are really sure, retry this command with ‘--dangerous’ and ‘--force’ flags."
)


def rm_cmd(inv: Invocation) -> int:
    """`mc rm [--recursive --force] TARGET...`: ``Removed `ALIAS/BUCKET/KEY`.`` per object."""
    recursive = bool(inv.flags & {"recursive", "r"})
    force, dangerous, fake = "force" in inv.flags, "dangerous" in inv.flags, "fake" in inv.flags
    if not inv.args:
        messages.error("Invalid command usage: `rm` needs a TARGET.")
        return 1
    targets = []
    for text in inv.args:
        target = resolve(inv, text)
        if target is None:
            return 1
        if not target.bucket and recursive and not dangerous:
            messages.error(DANGEROUS_NEEDED, json_mode=inv.json)
            return 1
        if recursive and not force:
            messages.error(FORCE_NEEDED, json_mode=inv.json)
            return 1
        if not recursive and (not target.prefix or target.prefix.endswith("/")):
            messages.error(RECURSIVE_NEEDED, json_mode=inv.json)
            return 1
        targets.append(target)
    status = 0
    for target in targets:
        remote = Remote(target.alias, insecure=inv.insecure)
        try:
            if recursive:
                _remove_all(inv, remote, target, fake)
            else:
                _remove_one(inv, remote, target, fake)
        except S3Failure as err:
            how = " recursively." if recursive else "."
            messages.error(f"Failed to remove `{target.text}`{how}", str(err), inv.json)
            status = 1
        finally:
            remote.close()
    return status


def _remove_one(inv: Invocation, remote: Remote, target: Target, fake: bool) -> None:
    if remote.head(target.bucket, target.prefix) is None:
        raise S3Failure("Object does not exist.", "NoSuchKey")
    if not fake:
        remote.delete(target.bucket, [target.prefix])
    messages.removed(target.key_url(target.bucket, target.prefix), inv.json, dry_run=fake)


def _remove_all(inv: Invocation, remote: Remote, target: Target, fake: bool) -> None:
    buckets = [target.bucket] if target.bucket else [b["Name"] for b in remote.buckets()]
    for bucket in buckets:
        batch: list[str] = []
        for entry in remote.objects(bucket, target.prefix):
            batch.append(entry["Key"])
            if len(batch) == BATCH:
                _flush(inv, remote, target, bucket, batch, fake)
                batch = []
        _flush(inv, remote, target, bucket, batch, fake)
    # With --force, nothing to remove is no error (`rm -f`), as in current mc.


def _flush(inv: Invocation, remote: Remote, target: Target, bucket: str, keys: list[str], fake: bool) -> None:
    if not keys:
        return
    if not fake:
        remote.delete(bucket, keys)
    for key in keys:
        messages.removed(target.key_url(bucket, key), inv.json, dry_run=fake)
