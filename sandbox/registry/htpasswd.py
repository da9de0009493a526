"""A bcrypt htpasswd file for the registry's `auth.htpasswd` (distribution accepts bcrypt only)."""

from __future__ import annotations

from pathlib import Path

import bcrypt

# The registry checks the hash on every request; the default cost (12) makes a push take seconds.
COST = 4


def bcrypt_hash(password: str) -> str:
    """A `$2b$` bcrypt hash of password."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=COST)).decode()


def write_htpasswd(path: Path, username: str, password: str) -> Path:
    """Write a one-user htpasswd file, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{username}:{bcrypt_hash(password)}\n")
    path.chmod(0o600)
    return path
