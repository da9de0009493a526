"""podman for the image test: is it usable, the image `make image` built, and `regclean serve` in it.

podman runs with runc and without default ulimits (the containers.conf `make image` writes, or
`$CONTAINERS_CONF`): crun fails on this VM's hybrid cgroups and on RLIMIT_NOFILE.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.version import UNKNOWN, checkout_commit
from sandbox.bot_process import READY_WITHIN, ServeProcess
from sandbox.bot_process import _inherited as without_settings  # the one definition of it
from sandbox.registry.process import free_port

ROOT = Path(__file__).resolve().parents[2]
CONTAINERS_CONF = Path(os.environ.get("CONTAINERS_CONF") or ROOT / ".cache" / "containers.conf")
IMAGE = os.environ.get("IMAGE", "localhost/regclean")
BUILD_WITHIN = 900.0
"""`make image` from nothing: the base with mmdebstrap (a minute), the wheels, the build."""
UID = 10001
"""The image's user, as the Deployment's runAsUser."""


def podman_env() -> dict[str, str]:
    """This process's environment with podman pointed at the project's containers.conf."""
    return {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}


def podman(*args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """`podman ARGS`, its output captured; never raises on a non-zero exit."""
    return subprocess.run(
        ["podman", *args], env=podman_env(), capture_output=True, text=True, timeout=timeout, check=False
    )


def unusable() -> str | None:
    """Why podman cannot run containers here, or None when it can."""
    if shutil.which("podman") is None:
        return "podman is not installed (`make test-image` installs podman, mmdebstrap and runc)"
    if shutil.which("runc") is None:
        return "runc is not installed (`make test-image` installs it)"
    info = podman("info", "--format", "{{.Host.OCIRuntime.Name}}")
    if info.returncode != 0:
        return f"`podman info` fails: {(info.stderr or info.stdout).strip()[-400:]}"
    return None


@dataclass(frozen=True)
class Image:
    """An image `make image` built."""

    name: str
    commit: str
    """The commit it was built from, as `regclean --version` in it says."""


def build_image() -> Image:
    """`make image` (which keeps an image already built from this clean commit). The commit is read
    once and handed to make, so that a commit made meanwhile in this checkout cannot split them."""
    commit = checkout_commit() or UNKNOWN
    done = subprocess.run(
        ["make", "--no-print-directory", "image", f"COMMIT={commit}"],
        cwd=ROOT,
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=BUILD_WITHIN,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"`make image` failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}")
    return Image(f"{IMAGE}:{commit}", commit)


@dataclass(frozen=True)
class Mount:
    """A host directory the container sees at `target`; `:U` makes it the container user's."""

    source: Path
    target: str
    writable: bool = False

    def option(self) -> str:
        return f"{self.source}:{self.target}:{'rw' if self.writable else 'ro'},U"


class ContainerServe(ServeProcess):
    """`regclean serve` in the image, as a cluster runs it: its own user, a read-only root file system,
    a writable /tmp, no capabilities, no privilege escalation, the files mounted. The host network,
    so that it reaches the sandbox's servers on 127.0.0.x. SIGTERM goes to podman, which hands it on."""

    def __init__(self, image: str, env: Mapping[str, str], mounts: Sequence[Mount], log_path: Path) -> None:
        super().__init__(env, log_path)
        self.image = image
        self.mounts = tuple(mounts)
        self.container = f"regclean-test-{secrets.token_hex(4)}"

    async def serve(self) -> str:
        """Start the container; returns its URL once `/healthz` answers."""
        self.starts += 1
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        settings = {**self.env, "REGCLEAN_HOST": "127.0.0.1", "REGCLEAN_PORT": str(port)}
        argv = [
            "podman", "run", "--rm", "--pull=never", "--name", self.container, "--network=host", "--read-only",
            "--tmpfs", "/tmp", "--cap-drop=all", "--security-opt=no-new-privileges",
            *(arg for m in self.mounts for arg in ("--volume", m.option())),
            # `-e NAME` takes the value from podman's environment: no secret on a command line
            *(arg for name in sorted(settings) for arg in ("--env", name)),
            self.image, "serve",
        ]  # fmt: skip
        env = {**without_settings(), "CONTAINERS_CONF": str(CONTAINERS_CONF), **settings}
        await self.start(
            argv, env=env, ready_url=f"{self.url}/healthz", ready_statuses={200}, ready_within=READY_WITHIN
        )
        return self.url

    def remove(self) -> None:
        """Remove the container if it is still there (it removes itself when it ends)."""
        podman("rm", "--force", "--ignore", self.container)
