"""The whole sandbox in one place: the simulated cluster and Slack workspace, and the bot on them.

Scenario tests, `regclean demo`, `python -m sandbox up` and the benchmarks all start the bot
this way, so that they exercise the same wiring as `regclean serve`.

Besides the Kubernetes API, the Slack workspace and the three control-plane nodes, a sandbox has
the platform registry (Debian's docker-registry on moto's S3, bucket `registry`) holding the
images the fixture's workloads use and old tags (with `full_registry`, also every image the
installer and the packages hold, as before a real cleanup); the MinIO pod `kube-system/minio-0`,
whose `pods/exec` runs commands here with its `minio.env` and the `mc` stand-in; the registry
pods, whose deletion restarts the registry; and on the first node the installer (`res/upload.sh`,
the plugin packages) and the `violet` stand-in, which push real images with skopeo. `violet`
checks the platform's address and credentials (`platform_url`, `platform_username`,
`platform_password`, or `platform_token`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.app import Bot, build, connected
from bot.config.settings import Settings
from sandbox.clock import SettableClock
from sandbox.installer import (
    Account,
    break_verification,
    corrupt_package,
    fail_package,
    fail_upload_after,
    install_violet,
    installed_applications,
    package_specs,
    plan_images,
    write_config,
    write_installer,
)
from sandbox.kube import KubeApiServer
from sandbox.kube.defaults import KubeObject
from sandbox.kube.exec import ExecEnvironment, serve_exec
from sandbox.kube.fixtures import SAMPLE_REGISTRY, Fixture, load_fixture
from sandbox.kube.fixtures import _rehome_images as rehome_images  # the one definition of rehoming
from sandbox.kube.rbac import policy_from, rendered_deploy
from sandbox.minio.pod import MinioPod
from sandbox.nodes import SandboxCluster, populate_minio
from sandbox.people import APPROVERS, OPERATORS, PEOPLE, USERGROUPS
from sandbox.pods import REGISTRY_NAMESPACE, REGISTRY_SELECTOR, RegistryPods
from sandbox.registry import Registry, S3Server
from sandbox.registry.seed import EXTRA_IMAGES, start_seeded, workload_images
from sandbox.slack import SlackDriver, SlackWorkspace
from sandbox.static_pods import ContainerRuntime, install_crictl

Mode = Literal["http", "socket"]

INSTALLER_NODE = "127.0.0.11"
MINIO_SELECTOR = "app=minio"
MINIO_ACCESS_KEY = "sandbox-minio-admin"
SECRET_CANARY = "CANARY-minio"
"""Part of every sandbox's MinIO secret key: search the bot's output for it."""
PLATFORM_URL = "https://127.0.0.10"
"""The platform's address for `violet push` (nothing listens there: the stand-in only compares it)."""
PLATFORM_USERNAME = "admin@cpaas.io"
PLATFORM_CANARY = "CANARY-platform"
"""Part of every sandbox's platform password: search the bot's output for it."""
_IMAGE_KINDS = frozenset({"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"})


class Sandbox:
    """The simulated cluster (Kubernetes API with a fixture, nodes, registry, MinIO) and Slack workspace."""

    def __init__(
        self,
        workdir: Path,
        fixture: Fixture | None = None,
        slack: SlackWorkspace | None = None,
        *,
        full_registry: bool = False,
        s3: S3Server | None = None,
        registry_options: Mapping[str, Any] | None = None,
        live_minio: bool = False,
        rbac: bool = True,
    ) -> None:
        self.workdir = workdir
        self.live_minio = live_minio
        """Whether each node's MinIO writes to its drive as a running MinIO does (`node.scanner`,
        started with the sandbox): what a backup then meets on a real platform."""
        self.full_registry = full_registry
        """Whether the registry also starts with every image the installer and the packages restore,
        as a platform's registry does before its cleanup. Off, it holds what the scenarios need (the
        workloads' images and `EXTRA_IMAGES`), and each sandbox starts faster."""
        self.fixture = fixture or load_fixture()
        """The fixture as given; the served workloads' images point at `registry` once started."""
        self.kube = KubeApiServer(
            self.fixture.objects, resources=self.fixture.resources, on_pod_deleted=self._pod_deleted
        )
        if rbac:
            # The bot authenticates as the ServiceAccount deploy/ creates, with exactly its rules.
            self.kube.enforce(policy_from(rendered_deploy(), secrets.token_urlsafe(24)))
        self.slack = slack or SlackWorkspace()
        self.nodes = SandboxCluster(workdir / "nodes")
        """the three control-plane nodes (127.0.0.11–13, as in the fixture's Node objects)"""
        self.s3 = s3 or S3Server(workdir / "s3")
        """MinIO's S3 API (moto); `s3.url` is what the MinIO pod reaches as its own endpoint. A server
        passed in is started already, and the sandbox leaves it running; its bucket `registry` is
        made to hold exactly the seeded images, whatever it held before."""
        self._owns_s3 = s3 is None
        self.registry = Registry(self.s3, workdir / "registry", **(registry_options or {}))
        """The platform registry on the bucket `registry`; `registry.address` once started. Plain HTTP,
        unless `registry_options` say otherwise (`tls`, `redirect`, `storage_endpoint`: see `Registry`)."""
        self.registry_pods = RegistryPods(self.kube, self.registry)
        """Deleting a pod matching `REGISTRY_SELECTOR` restarts `registry` and replaces the pod."""
        self.minio_access_key = MINIO_ACCESS_KEY
        self.minio_secret = f"sandbox-{SECRET_CANARY}-{secrets.token_hex(8)}"
        """MinIO's secret key, in the pod's `minio.env`; it must never show in anything the bot writes."""
        self.minio_pod = MinioPod(workdir / "minio-pod", self.minio_access_key, self.minio_secret)
        self.exec = serve_exec(self.kube, self._exec_target)
        """`pods/exec`: the MinIO pods' containers run commands, and the registry's (`cat` its config)."""
        self.runtime = ContainerRuntime(self.registry_pods)
        """The nodes' container runtimes, which each node's `crictl` stand-in talks to."""
        self.installer_dir = self.nodes.nodes[INSTALLER_NODE].root / "cpaas" / "installer"
        """`/cpaas/installer` of the installer node, 127.0.0.11."""
        self.plugin_dir = self.installer_dir / "plugins"
        """The packages (named as shipped, each with its `.sig` or `.sha256`); delete one to make the
        coverage gate fail."""
        self.packages: list[str] = []
        """The package files written at start."""
        self.images: list[str] = []
        """`repo:tag` of every image pushed to the registry at start."""
        self.platform_url = PLATFORM_URL
        self.platform_username = PLATFORM_USERNAME
        self.platform_password = f"sandbox-{PLATFORM_CANARY}-{secrets.token_hex(8)}"
        """What `violet push` accepts; it must never show in anything the bot writes."""
        installer_node = self.nodes.nodes[INSTALLER_NODE]
        self.violet = installer_node.bin_dir / "violet"
        """The `violet` stand-in, on the PATH of the installer node's commands."""
        self.platform_token = f"sandbox-{PLATFORM_CANARY}-token-{secrets.token_hex(8)}"
        """The platform user's API token, which `violet push --platform-token` accepts instead; it
        must never show in anything the bot writes either."""
        self._violet_config = installer_node.root / "etc" / "violet" / "platform.json"
        workloads = workload_images(self.fixture.objects, SAMPLE_REGISTRY)
        self.package_specs = package_specs(self.fixture.objects, workloads)
        """What each package holds and `violet show --all` prints, by file name."""
        self.installer_images = plan_images(
            workloads, {spec.file: spec.images for spec in self.package_specs}
        )
        self.core_images = list(self.installer_images.core)
        """`repo:tag` that `res/upload.sh all` pushes (old tags and custom images are not among them)."""
        self.necessary_images = list(self.installer_images.necessary)
        """`repo:tag` that `res/upload.sh necessary` pushes, a subset of `core_images`."""
        self.package_images = {file: list(refs) for file, refs in self.installer_images.packages.items()}
        """Package file name -> the `repo:tag` that `violet push` of it pushes."""
        for user_id, name in PEOPLE.items():
            self.slack.add_user(user_id, name)
        for group_id, handle, members in USERGROUPS:
            self.slack.add_usergroup(group_id, handle, list(members))

    @property
    def restorable_images(self) -> list[str]:
        """`repo:tag` of every image that `res/upload.sh` or a package brings back after the purge, sorted."""
        return sorted({*self.core_images, *(ref for refs in self.package_images.values() for ref in refs)})

    async def start(self) -> None:
        """Start every server on free ports, fill the registry, and write the nodes' and pods' files."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        await self.runtime.start()
        outcomes = await asyncio.gather(
            self._start_registry(),
            asyncio.to_thread(self._write_files),
            self.kube.start(),
            self.slack.start(),
            self.nodes.start(),
            return_exceptions=True,
        )
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            await self.stop()
            raise failures[0]

    async def _start_registry(self) -> None:
        workloads = [
            obj
            for res in self.kube.resources.values()
            if res.kind in _IMAGE_KINDS
            for obj in self.kube.objects(res.plural)
        ]
        restorable = self.restorable_images if self.full_registry else []
        self.images = sorted({*workload_images(workloads, SAMPLE_REGISTRY), *EXTRA_IMAGES, *restorable})
        if self._owns_s3:
            await self.s3.start()
        await start_seeded(self.registry, self.images, self.workdir / "images")
        registry = Account(self.registry.address, self.registry.username, self.registry.password)
        platform = Account(
            self.platform_url, self.platform_username, self.platform_password, self.platform_token
        )
        applications = installed_applications(self.fixture.objects)
        await asyncio.to_thread(write_config, self._violet_config, platform, registry, applications)
        # Only now is the registry's address known (the fixture came first, and `load_fixture`'s
        # `registry=` wants it up front): point the served workloads' images at it.
        moved = [rehome_images(o, f"{SAMPLE_REGISTRY}/", f"{self.registry.address}/") for o in workloads]
        self.kube.load(new for new, old in zip(moved, workloads, strict=True) if new != old)

    def _write_files(self) -> None:
        for seed, node in enumerate(self.nodes.nodes.values(), start=1):
            populate_minio(node.minio_dir, small_files=300, large_files=2, large_size=2**20, seed=seed)
            if self.live_minio:
                node.scanner.start()
        self.minio_pod.prepare()
        self.packages = write_installer(self.installer_dir, self.installer_images, self.package_specs)
        install_violet(self.violet.parent, self._violet_config)
        install_crictl(((a, n.bin_dir) for a, n in self.nodes.nodes.items()), self.runtime.url)

    def fail_upload_after(self, images: int | None) -> None:
        """Fault switch: `res/upload.sh` exits 1 after pushing this many images; None clears it."""
        fail_upload_after(self.installer_dir, images)

    def fail_package(self, file: str, mode: Literal["once", "always"] | None) -> None:
        """Fault switch: `violet push` of this package fails the next time, or every time; None clears it."""
        fail_package(self.plugin_dir, file, mode)

    def corrupt_package(self, file: str) -> None:
        """Fault switch: the package is cut short; `violet show`, `verify` and `push` refuse it."""
        corrupt_package(self.plugin_dir, file)

    def break_verification(self, file: str, how: Literal["mismatch", "missing"]) -> None:
        """Fault switch: the package's `.sig` or checksum no longer matches it, or is gone."""
        break_verification(self.plugin_dir, file, how)

    async def stop(self) -> None:
        """Stop the servers and the registry's processes."""
        await self.registry_pods.stop()
        await self.runtime.stop()
        await self.nodes.stop()
        await self.slack.stop()
        await self.kube.stop()
        await self.registry.stop()
        if self._owns_s3:
            await self.s3.stop()

    def _exec_target(self, pod: KubeObject, container: str | None) -> ExecEnvironment | None:
        return self.minio_pod.exec_target(pod, container) or self.registry_pods.exec_target(pod, container)

    async def _pod_deleted(self, pod: KubeObject) -> None:
        await self.registry_pods.on_pod_deleted(pod)

    def environment(self, mode: Mode) -> dict[str, str]:
        """The environment `regclean serve` needs to run against this sandbox."""
        env = {
            "SLACK_BOT_TOKEN": self.slack.bot_token,
            "SLACK_API_URL": self.slack.api_url,
            "SLACK_CHANNEL": self.slack.channel_id,
            "REGCLEAN_OPERATORS": OPERATORS,
            "REGCLEAN_APPROVERS": APPROVERS,
            "KUBECONFIG": str(self.kube.write_kubeconfig(self.workdir / "kubeconfig")),
            "DATABASE_URL": f"sqlite:///{self.workdir / 'regclean.db'}",
            # regclean's own files (the custom images' export) stay in the sandbox's directory.
            "REGCLEAN_DATA_DIR": str(self.workdir.resolve()),
            "REGCLEAN_HOST": "127.0.0.1",
            "REGCLEAN_PORT": "0",
            # The simulator takes posts as fast as they come; keep the pacing, but short.
            "REGCLEAN_SLACK_POST_INTERVAL": "0.01",
            "REGCLEAN_SSH_KEY": str(self.nodes.keys.client_key),
            "REGCLEAN_SSH_KNOWN_HOSTS": str(self.nodes.keys.known_hosts),
            "REGCLEAN_SSH_CONNECT_TIMEOUT": "5",
            "REGCLEAN_BACKUP_DIR": "/cpaas/backup",
            # Each sandbox node keeps its /cpaas under its own directory and listens on its own port.
            "REGCLEAN_NODE_OVERRIDES": json.dumps(
                {
                    node.address: {
                        "port": node.port,
                        "minio_dir": str(node.minio_dir),
                        "backup_dir": str(node.backup_dir),
                    }
                    for node in self.nodes.nodes.values()
                }
            ),
            # The MinIO pod: `kubectl exec` runs here, so the env file is this machine's path.
            "REGCLEAN_MINIO_SELECTOR": MINIO_SELECTOR,
            "REGCLEAN_MINIO_ENV_FILE": str(self.minio_pod.env_file.resolve()),
            "REGCLEAN_MINIO_URL": self.s3.url,
            "REGCLEAN_REGISTRY_NAMESPACE": REGISTRY_NAMESPACE,
            "REGCLEAN_REGISTRY_SELECTOR": REGISTRY_SELECTOR,
            # `cat` in a registry pod runs here: the config file docker-registry really runs with.
            "REGCLEAN_REGISTRY_CONFIG": str(self.registry.config_path.resolve()),
            "REGCLEAN_REGISTRY": self.registry.address,
            "REGCLEAN_REGISTRY_USERNAME": self.registry.username,
            "REGCLEAN_REGISTRY_PASSWORD": self.registry.password,
            **self.registry.client_settings(),
            "REGCLEAN_INSTALLER_NODE": INSTALLER_NODE,
            "REGCLEAN_INSTALLER_DIR": str(self.installer_dir.resolve()),
            "REGCLEAN_PLATFORM_URL": self.platform_url,
            "REGCLEAN_PLATFORM_USERNAME": self.platform_username,
            "REGCLEAN_PLATFORM_PASSWORD": self.platform_password,
        }
        if mode == "http":
            env["SLACK_SIGNING_SECRET"] = self.slack.signing_secret
        else:
            env["SLACK_APP_TOKEN"] = self.slack.app_token
        return env


@dataclass
class RunningBot:
    """A started bot and the driver that talks to it as the workspace's people."""

    bot: Bot
    driver: SlackDriver
    url: str | None
    """The HTTP base URL (HTTP mode)."""
    clock: SettableClock
    """The bot's one clock: the machine's, until a test or the demo moves it."""


@contextlib.asynccontextmanager
async def running_bot(
    sandbox: Sandbox, mode: Mode = "http", overrides: Mapping[str, str] | None = None
) -> AsyncIterator[RunningBot]:
    """Build and connect the bot exactly as `regclean serve` does, against the sandbox."""
    clock = SettableClock()
    sandbox.slack.now = clock.now  # the transcript's "Today" is the bot's
    bot = build(Settings.load({**sandbox.environment(mode), **(overrides or {})}), clock=clock)
    async with connected(bot) as url:
        if url is not None:
            yield RunningBot(bot, SlackDriver(sandbox.slack, events_url=f"{url}/slack/events"), url, clock)
        else:
            driver = SlackDriver(sandbox.slack)
            await driver.wait_connected()
            yield RunningBot(bot, driver, None, clock)
