"""A kubeconfig for the sandbox API server."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_kubeconfig(
    path: str | Path, server_url: str, *, name: str = "acp-sandbox", token: str | None = None
) -> Path:
    """Write a kubeconfig with one cluster, one user (anonymous, or with a bearer token) and a
    current context for them. With a token the file is readable by its owner only."""
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": server_url}}],
        "users": [{"name": name, "user": {"token": token} if token else {}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": name, "namespace": "default"}}],
        "current-context": name,
        "preferences": {},
    }
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    if token:
        target.chmod(0o600)
    return target
