"""mc's configuration file: `config.json` (version 10) in `--config-dir`, `$MC_CONFIG_DIR` or `~/.mc`."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from .remote import Alias

VERSION = "10"
RELEASE_FILE = "sandbox-release"
"""Test switch in the config directory: the mc release to behave as (see `release`)."""
DENY_DELETE_FILE = "sandbox-deny-delete"
"""Test switch in the config directory: MinIO refuses deletes, as under a policy that denies
`s3:DeleteObject` to these keys (everything else is allowed)."""
DENY_LIST_FILE = "sandbox-deny-list"
"""Test switch in the config directory: MinIO refuses listings, as under a policy that denies
`s3:ListBucket` to these keys (`du`, `ls` and a recursive `rm` fail; the rest is allowed)."""
_ALIAS = re.compile(r"^[a-zA-Z][a-zA-Z0-9_-]*$")


def config_dir(flag: str | None = None) -> Path:
    """Where mc keeps its configuration."""
    if flag:
        return Path(flag)
    env = os.environ.get("MC_CONFIG_DIR")
    return Path(env) if env else Path.home() / ".mc"


def valid_alias(name: str) -> bool:
    """mc's `isValidAlias`."""
    return bool(_ALIAS.match(name))


def valid_host_url(url: str) -> bool:
    """mc's `isValidHostURL`: `scheme://host[:port]/`, without a resource path."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and parts.path in ("", "/")


def load(directory: Path) -> dict[str, Alias]:
    """Every alias in the configuration (none when there is no file yet)."""
    path = directory / "config.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    aliases = doc.get("aliases") or {}
    return {
        name: Alias(name, str(a.get("url", "")), str(a.get("accessKey", "")), str(a.get("secretKey", "")))
        for name, a in aliases.items()
    }


def save(directory: Path, alias: Alias) -> None:
    """Add or replace one alias; the file is readable by its owner only, as mc writes it."""
    path = directory / "config.json"
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        doc = {"version": VERSION, "aliases": {}}
    doc.setdefault("aliases", {})[alias.name] = {
        "url": alias.url,
        "accessKey": alias.access_key,
        "secretKey": alias.secret_key,
        "api": "s3v4",
        "path": "auto",
    }
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(doc, out, indent="\t")
    tmp.replace(path)


def release(directory: Path) -> str:
    """The release this stand-in behaves as: `RELEASE_FILE`'s date (`2022-06-26`), or the newest.

    Only the wording of `rm` depends on it, as it changed in mc: `Removing` until 2022-07-30,
    `Remove` until 2022-08-05, `Removed` since. `--json` lines kept their `status` throughout.
    """
    try:
        return (directory / RELEASE_FILE).read_text().strip() or "9999-12-31"
    except FileNotFoundError:
        return "9999-12-31"


def set_release(directory: Path, day: str | None) -> None:
    """Test switch: behave as the mc released on `day` (ISO date), or as the newest (None)."""
    path = directory / RELEASE_FILE
    if day is None:
        path.unlink(missing_ok=True)
        return
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.write_text(day + "\n")


def deletes_denied(directory: Path) -> bool:
    """Whether the `DENY_DELETE_FILE` switch is on."""
    return (directory / DENY_DELETE_FILE).exists()


def deny_deletes(directory: Path, denied: bool = True) -> None:
    """Test switch: MinIO answers every delete with AccessDenied (False: as usual)."""
    path = directory / DENY_DELETE_FILE
    if denied:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch()
    else:
        path.unlink(missing_ok=True)


def listing_denied(directory: Path) -> bool:
    """Whether the `DENY_LIST_FILE` switch is on."""
    return (directory / DENY_LIST_FILE).exists()


def deny_listing(directory: Path, denied: bool = True) -> None:
    """Test switch: MinIO answers every listing with AccessDenied (False: as usual)."""
    path = directory / DENY_LIST_FILE
    if denied:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.touch()
    else:
        path.unlink(missing_ok=True)
