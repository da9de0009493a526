"""The whole sandbox in one place: the simulated cluster and Slack workspace, and the bot on them.

Scenario tests, `regclean demo`, `python -m sandbox up` and the benchmarks all start the bot
this way, so that they exercise the same wiring as `regclean serve`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from bot.app import Bot, build, connected
from bot.config import Settings
from sandbox.kube import KubeApiServer
from sandbox.kube.fixtures import Fixture, load_fixture
from sandbox.nodes import SandboxCluster, populate_minio
from sandbox.people import APPROVERS, OPERATORS, PEOPLE, USERGROUPS
from sandbox.slack import SlackDriver, SlackWorkspace

Mode = Literal["http", "socket"]


class Sandbox:
    """The simulated Kubernetes API (with a fixture) and the simulated Slack workspace."""

    def __init__(
        self, workdir: Path, fixture: Fixture | None = None, slack: SlackWorkspace | None = None
    ) -> None:
        self.workdir = workdir
        fixture = fixture or load_fixture()
        self.kube = KubeApiServer(fixture.objects, resources=fixture.resources)
        self.slack = slack or SlackWorkspace()
        self.nodes = SandboxCluster(workdir / "nodes")
        """the three control-plane nodes (127.0.0.11–13, as in the fixture's Node objects)"""
        for user_id, name in PEOPLE.items():
            self.slack.add_user(user_id, name)
        for group_id, handle, members in USERGROUPS:
            self.slack.add_usergroup(group_id, handle, list(members))

    async def start(self) -> None:
        """Start the servers on free ports, with a small MinIO tree on every node."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        for seed, node in enumerate(self.nodes.nodes.values(), start=1):
            populate_minio(node.minio_dir, small_files=300, large_files=2, large_size=2**20, seed=seed)
        await self.kube.start()
        await self.slack.start()
        await self.nodes.start()

    async def stop(self) -> None:
        """Stop the servers."""
        await self.nodes.stop()
        await self.slack.stop()
        await self.kube.stop()

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


@contextlib.asynccontextmanager
async def running_bot(
    sandbox: Sandbox, mode: Mode = "http", overrides: Mapping[str, str] | None = None
) -> AsyncIterator[RunningBot]:
    """Build and connect the bot exactly as `regclean serve` does, against the sandbox."""
    bot = build(Settings.load({**sandbox.environment(mode), **(overrides or {})}))
    async with connected(bot) as url:
        if url is not None:
            yield RunningBot(bot, SlackDriver(sandbox.slack, events_url=f"{url}/slack/events"), url)
        else:
            driver = SlackDriver(sandbox.slack)
            await driver.wait_connected()
            yield RunningBot(bot, driver, None)
