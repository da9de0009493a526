"""`mc rm`: one object, or everything under a prefix with `--recursive --force`; with `--versions`,
every version and delete marker too.

On a versioned bucket, a removal without `--versions` deletes nothing: S3 answers each key with a
new delete marker, and mc prints ``Created delete marker `KEY` (versionId=ID).``. `ls` and `du`
then no longer show the objects, yet every byte is still stored.
"""

from __future__ import annotations

from typing import Any

from . import config, messages
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
    """`mc rm [--recursive --force] [--versions] TARGET...`: ``Removed `ALIAS/BUCKET/KEY`.`` per object."""
    recursive = bool(inv.flags & {"recursive", "r"})
    force, dangerous, fake = "force" in inv.flags, "dangerous" in inv.flags, "fake" in inv.flags
    versions = "versions" in inv.flags
    if versions and not force:
        messages.error(FORCE_NEEDED, json_mode=inv.json)
        return 1
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
        if not recursive and (not target.prefix or target.prefix.endswith("/")) and not versions:
            messages.error(RECURSIVE_NEEDED, json_mode=inv.json)
            return 1
        targets.append(target)
    status = 0
    denied = config.listing_denied(config.config_dir(inv.config_dir))
    for target in targets:
        remote = Remote(target.alias, insecure=inv.insecure, list_denied=denied)
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
    if "versions" in inv.flags:
        every = [v for v in remote.versions(target.bucket, target.prefix) if v["Key"] == target.prefix]
        if not every:
            raise S3Failure("Object does not exist.", "NoSuchKey")
        _flush(inv, remote, target, target.bucket, [(v["Key"], v["VersionId"]) for v in every], fake)
        return
    if remote.head(target.bucket, target.prefix) is None:
        raise S3Failure("Object does not exist.", "NoSuchKey")
    _flush(inv, remote, target, target.bucket, [(target.prefix, None)], fake)


def _remove_all(inv: Invocation, remote: Remote, target: Target, fake: bool) -> None:
    buckets = [target.bucket] if target.bucket else [b["Name"] for b in remote.buckets()]
    for bucket in buckets:
        batch: list[tuple[str, str | None]] = []
        if "versions" in inv.flags:
            listed = ((v["Key"], v["VersionId"]) for v in remote.versions(bucket, target.prefix))
        else:
            listed = ((o["Key"], None) for o in remote.objects(bucket, target.prefix))
        for item in listed:
            batch.append(item)
            if len(batch) == BATCH:
                _flush(inv, remote, target, bucket, batch, fake)
                batch = []
        _flush(inv, remote, target, bucket, batch, fake)
    # With --force, nothing to remove is no error (`rm -f`), as in current mc.


def _flush(
    inv: Invocation,
    remote: Remote,
    target: Target,
    bucket: str,
    objects: list[tuple[str, str | None]],
    fake: bool,
) -> None:
    if not objects:
        return
    directory = config.config_dir(inv.config_dir)
    release = config.release(directory)
    if fake:
        for key, version in objects:
            messages.removed(target.key_url(bucket, key), inv.json, dry_run=True, version_id=version or "")
        return
    if config.deletes_denied(directory):
        raise S3Failure("Access Denied.", "AccessDenied")
    for deleted in remote.delete(bucket, objects):
        _report(inv, target, bucket, deleted, release)


def _report(inv: Invocation, target: Target, bucket: str, deleted: dict[str, Any], release: str) -> None:
    # As mc reports S3's answer: a delete marker made (or removed) is named by the marker's id.
    marker = bool(deleted.get("DeleteMarker"))
    version = str((deleted.get("DeleteMarkerVersionId") if marker else deleted.get("VersionId")) or "")
    messages.removed(
        target.key_url(bucket, str(deleted["Key"])),
        inv.json,
        version_id=version,
        delete_marker=marker,
        release=release,
    )
