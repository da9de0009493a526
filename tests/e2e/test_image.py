"""The container image (Containerfile, `make image`), run as a cluster runs it.

`make image` builds it from this checkout, or keeps the one it built already from this clean
commit. Then: `regclean --version` names that commit; the image runs as its own user (10001) with
no compiler, SSH client or pip in it; and `regclean serve` from it, with the Deployment's
restrictions (read-only root file system, a writable /tmp, no capabilities, no privilege
escalation) and its files mounted read-only where the Deployment mounts them, records the
sandbox's inventory and backs up its three nodes when asked from the simulated Slack, then stops
cleanly on SIGTERM, as Kubernetes stops it.

Not part of `make test` (tests/e2e/conftest.py): `make test-image` runs it, and CI after `make test`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
from importlib.metadata import version
from pathlib import Path

import pytest

from sandbox.slack import SlackDriver
from sandbox.stack import Sandbox
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO
from tests.e2e.podman import BUILD_WITHIN, UID, ContainerServe, Image, Mount, build_image, podman, unusable
from tests.e2e.test_restart import DONE, shows

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(BUILD_WITHIN + 300), *NEEDS_REGISTRY_AND_SKOPEO]

DATA_DIR = "/var/lib/regclean"
"""The image's data directory, where the Deployment mounts its volume (deploy/base/deployment.yaml)."""
SECRETS_DIR = "/etc/regclean"
"""Where the Deployment mounts the SSH Secret (`ssh/`); the kubeconfig is the test's, in `kube/`."""


@pytest.fixture(scope="module")
def image() -> Image:
    """The image `make image` built from this checkout. Without a usable podman the tests skip, but
    not under CI, which installs it (`make test-image`)."""
    problem = unusable()
    if problem is not None:
        if os.environ.get("CI", "").strip().lower() in {"true", "1"}:
            pytest.fail(f"CI must run the image test: {problem}")
        pytest.skip(problem)
    return build_image()


def test_version_names_the_commit_the_image_was_built_from(image: Image) -> None:
    done = podman("run", "--rm", "--pull=never", image.name, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"regclean {version('regclean')} (commit {image.commit})"
    label = podman(
        "image", "inspect", "--format", '{{index .Labels "org.opencontainers.image.revision"}}', image.name
    )
    assert label.stdout.strip() == image.commit


def test_the_image_runs_as_its_own_user_with_the_bot_and_nothing_to_build_with(image: Image) -> None:
    inspected = podman("image", "inspect", "--format", "{{json .Config}}", image.name)
    config = json.loads(inspected.stdout)
    assert config["User"] == f"{UID}:{UID}"
    assert config["Entrypoint"] == ["regclean"]
    assert config["Cmd"] == ["serve"]
    probe = podman(
        "run", "--rm", "--pull=never", "--entrypoint", "sh", image.name, "-c",
        "id -u; for p in gcc cc c++ make ssh pip git; do command -v $p; done; "
        "python3 -c 'import sandbox' 2>/dev/null && echo sandbox; python3 -c 'import bot.cli' && echo bot; "
        "python3 -c 'import psycopg' && echo psycopg",
    )  # fmt: skip
    # psycopg: the `postgres` extra, for DATABASE_URL=postgresql+psycopg://…
    assert probe.stdout.split() == [str(UID), "bot", "psycopg"], probe.stdout + probe.stderr
    demo = podman("run", "--rm", "--pull=never", image.name, "demo")
    assert demo.returncode == 2 and "Traceback" not in demo.stderr, demo.stderr
    assert "run `make demo` in a checkout" in demo.stderr


async def test_serve_from_the_image_records_the_inventory_and_backs_up_every_node(
    image: Image, sandbox: Sandbox, tmp_path: Path
) -> None:
    mounts, env = container_files(sandbox, tmp_path / "mounts")
    bot = ContainerServe(image.name, env, mounts, tmp_path / "regclean-serve.log")
    ws = sandbox.slack
    try:
        await bot.serve()
        driver = SlackDriver(ws, events_url=f"{bot.url}/slack/events")
        await driver.slash("UALICE", "inventory")
        await ws.wait_for(lambda w: shows(w, "inventory", DONE), timeout=60)
        await driver.slash("UALICE", "backup")
        await ws.wait_for(lambda w: shows(w, "backup", DONE), timeout=120)
        assert await bot.terminate() == 0, "SIGTERM, as Kubernetes stops a pod, ends it cleanly"
    except BaseException as exc:
        exc.add_note(f"regclean serve in {image.name}{bot.log_tail() or ': no log'}")
        raise
    finally:
        await bot.stop()
        bot.remove()

    # What the container left in its data volume, read with plain SQL.
    with contextlib.closing(sqlite3.connect(tmp_path / "mounts" / "data" / "regclean.db")) as db:
        steps = db.execute("SELECT name, state FROM steps ORDER BY id").fetchall()
        archives = db.execute("SELECT archive FROM backups WHERE verified").fetchall()
    assert steps == [("inventory", "succeeded"), ("backup", "succeeded")]
    assert len(archives) == len(sandbox.nodes.nodes) == 3
    for node in sandbox.nodes.nodes.values():
        assert list(node.backup_dir.glob("*-minio.tar")), f"no archive on {node.address}"


def container_files(sandbox: Sandbox, mounts: Path) -> tuple[list[Mount], dict[str, str]]:
    """Copies of the files the bot reads (kubeconfig, SSH key, known_hosts) and a data directory,
    mounted where the Deployment mounts them, and the sandbox's settings pointing there."""
    env = sandbox.environment("http")
    kube, ssh, data = mounts / "kube", mounts / "ssh", mounts / "data"
    for directory in (kube, ssh, data):
        directory.mkdir(parents=True)
    shutil.copyfile(env["KUBECONFIG"], kube / "config")
    shutil.copyfile(env["REGCLEAN_SSH_KEY"], ssh / "id")
    shutil.copyfile(env["REGCLEAN_SSH_KNOWN_HOSTS"], ssh / "known_hosts")
    (ssh / "id").chmod(0o600)
    env |= {
        "KUBECONFIG": f"{SECRETS_DIR}/kube/config",
        "REGCLEAN_SSH_KEY": f"{SECRETS_DIR}/ssh/id",
        "REGCLEAN_SSH_KNOWN_HOSTS": f"{SECRETS_DIR}/ssh/known_hosts",
        "DATABASE_URL": f"sqlite:///{DATA_DIR}/regclean.db",
    }
    return [
        Mount(kube, f"{SECRETS_DIR}/kube"),
        Mount(ssh, f"{SECRETS_DIR}/ssh"),
        Mount(data, DATA_DIR, writable=True),
    ], env
