"""The MinIO pod as `kubectl exec` sees it: `/etc/config/minio.env` with the keys, and `mc` on PATH.

Its files live under one directory of the sandbox (`root`): `etc/config/minio.env`, `bin/mc`, and
`root/` as HOME (where `mc alias set` writes `.mc/config.json`, as in the real pod).
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from sandbox.kube.defaults import KubeObject
from sandbox.kube.exec import BASE_ENV, ExecEnvironment

from .wrapper import install_mc


class MinioPod:
    """The files and environment of one MinIO pod's container; `exec_target` serves `pods/exec`."""

    def __init__(
        self,
        root: Path,
        access_key: str,
        secret_key: str,
        *,
        namespace: str = "kube-system",
        name: str = "minio-0",
        container: str = "minio",
    ) -> None:
        self.root = root
        self.access_key = access_key
        self.secret_key = secret_key
        self.namespace = namespace
        self.name = name
        self.container = container
        self.env_file = root / "etc" / "config" / "minio.env"
        """The file the runbook sources: `export MINIO_ACCESS_KEY=...`, `export MINIO_SECRET_KEY=...`."""
        self.bin_dir = root / "bin"
        self.home = root / "root"

    def prepare(self) -> None:
        """Write the environment file and the `mc` stand-in, which accepts only this pod's keys."""
        self.env_file.parent.mkdir(parents=True, exist_ok=True)
        self.home.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(f"export MINIO_ACCESS_KEY={shlex.quote(self.access_key)}\n")
            out.write(f"export MINIO_SECRET_KEY={shlex.quote(self.secret_key)}\n")
        install_mc(self.bin_dir, credentials=(self.access_key, self.secret_key))

    def environment(self, pod: str | None = None) -> ExecEnvironment:
        """What a command exec'd in the container gets: `mc` first on PATH, HOME, the pod's hostname."""
        env = {
            "PATH": f"{self.bin_dir}:{BASE_ENV['PATH']}",
            "HOME": str(self.home),
            "HOSTNAME": pod or self.name,
            "MINIO_VOLUMES": "/data",
        }
        return ExecEnvironment(env=env, cwd=self.home)

    def exec_target(self, pod: KubeObject, container: str | None) -> ExecEnvironment | None:
        """The MinIO pods' containers can exec (one pod per node, labelled `app: minio`, all serving
        the same bucket from this environment); every other pod and container cannot."""
        meta = pod.get("metadata") or {}
        if meta.get("namespace") != self.namespace or (meta.get("labels") or {}).get("app") != "minio":
            return None
        if container not in (None, self.container):
            return None
        return self.environment(str(meta.get("name")))
