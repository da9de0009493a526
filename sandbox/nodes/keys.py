"""SSH keys for the sandbox nodes: the bot's client key, one host key per node, and known_hosts."""

from __future__ import annotations

import base64
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import asyncssh

KEY_TYPE = "ssh-ed25519"


@dataclass(frozen=True)
class NodeKeys:
    """Where the keys of one sandbox cluster live; every file is mode 600."""

    client_key: Path
    """The private key (OpenSSH format, ed25519, no passphrase) the bot authenticates with."""
    client_public: Path
    """Its public half, one `authorized_keys` line; also usable as sshd's AuthorizedKeysFile."""
    known_hosts: Path
    """One `[ADDRESS]:PORT ssh-ed25519 …` line per node; empty until the nodes have their ports."""
    host_keys: dict[str, Path]
    """Node address -> that node's host private key."""


def generate_keys(workdir: Path, addresses: Sequence[str]) -> NodeKeys:
    """Write a fresh client key and one host key per address under `workdir`."""
    workdir.mkdir(parents=True, exist_ok=True)
    client_key = workdir / "client_ed25519"
    client = write_private_key(client_key, comment="regclean-sandbox")
    client_public = workdir / "client_ed25519.pub"
    client_public.write_bytes(client.export_public_key())
    os.chmod(client_public, 0o600)
    host_keys = {a: workdir / f"host_{a}_ed25519" for a in addresses}
    for address, path in host_keys.items():
        write_private_key(path, comment=f"sandbox-node-{address}")
    known_hosts = workdir / "known_hosts"
    write_known_hosts(known_hosts, ())
    return NodeKeys(client_key, client_public, known_hosts, host_keys)


def write_private_key(path: Path, *, comment: str | None = None) -> asyncssh.SSHKey:
    """Generate an ed25519 key and write it to `path` (OpenSSH format, mode 600)."""
    key = asyncssh.generate_private_key(KEY_TYPE, comment=comment)
    path.write_bytes(key.export_private_key())
    os.chmod(path, 0o600)
    return key


def known_hosts_line(address: str, port: int, host_key: Path) -> str:
    """The known_hosts line for a host key served on address:port (no brackets for port 22)."""
    key = asyncssh.read_private_key(host_key)
    pattern = address if port == 22 else f"[{address}]:{port}"
    blob = base64.b64encode(key.public_data).decode()
    return f"{pattern} {key.get_algorithm()} {blob}"


def write_known_hosts(path: Path, entries: Iterable[tuple[str, int, Path]]) -> Path:
    """Write a known_hosts file from (address, port, host private key) triples, replacing it."""
    lines = [known_hosts_line(address, port, key) + "\n" for address, port, key in entries]
    path.write_text("".join(lines))
    os.chmod(path, 0o600)
    return path
