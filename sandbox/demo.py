"""`regclean demo`: the runbook so far, end to end against the sandbox, as a Slack conversation.

So far: the inventory (twice, with a change in between) and the backup of every node.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TextIO

from sandbox.kube.fixtures import Fixture, installed_operators, load_fixture
from sandbox.slack import SlackWorkspace
from sandbox.stack import Mode, Sandbox, running_bot


def _finished(ws: SlackWorkspace, count: int) -> bool:
    """Whether `count` inventories have been posted in full (their CSV files are the last part)."""
    return len(ws.files) >= 2 * count


async def run_demo(mode: Mode = "http", out: TextIO | None = None) -> int:
    """Drive the bot through the sandbox and print the conversation; 0 when it went as it should."""
    out = out or sys.stdout
    with tempfile.TemporaryDirectory(prefix="regclean-demo-") as tmp:
        box = Sandbox(Path(tmp), load_fixture())
        await box.start()
        try:
            async with running_bot(box, mode) as bot:
                say = bot.driver.slash
                await say("UMALLORY", "inventory")  # not an operator: refused
                await say("UALICE", "help")
                await say("UALICE", "inventory")
                await box.slack.wait_for(lambda ws: _finished(ws, 1), timeout=30)

                # Meanwhile on the platform: an operator is upgraded and one is uninstalled.
                _upgrade(box)
                await say("UOSCAR", "inventory")  # an operator through the @platform-ops group
                await box.slack.wait_for(lambda ws: _finished(ws, 2), timeout=30)
                await say("UBOB", "backup")  # an approver, not an operator: refused
                await say("UALICE", "backup")
                await box.slack.wait_for(_backed_up, timeout=60)
                await say("UBOB", "status")
                await say("UALICE", "purgee")  # a typo
                await bot.bot.notifier.flush()
        finally:
            await box.stop()
        print(f"regclean demo ({mode} mode) — the conversation in #{_channel(box.slack)}:\n", file=out)
        print(box.slack.transcript(), file=out)
        last = box.slack.files[-2]
        head = "\n".join(last.content.decode().splitlines()[:6])
        print(f"\nThe first lines of {last.name}:\n{head}\n…", file=out)
        if box.slack.rejections:
            print(f"\nSlack rejected {len(box.slack.rejections)} call(s): {box.slack.rejections}", file=out)
            return 1
    return 0


def _backed_up(ws: SlackWorkspace) -> bool:
    """Whether the backup's final per-node table has been posted."""
    return any("nodes have a verified backup" in str(m.blocks) for m in ws.messages)


def _upgrade(box: Sandbox) -> None:
    views = installed_operators(Fixture(objects=tuple(box.kube.objects("operatorviews"))))
    upgraded = views[0]
    installation = upgraded["status"]["operatorStatus"]["installation"]
    installation["subscription"]["installedCSV"] = installation["subscription"]["installedCSV"] + "-hotfix.1"
    box.kube.add(upgraded)
    gone = views[-1]
    box.kube.remove("operatorviews", gone["metadata"]["namespace"], gone["metadata"]["name"])


def _channel(ws: SlackWorkspace) -> str:
    return ws.channels.get(ws.channel_id, ws.channel_id)
