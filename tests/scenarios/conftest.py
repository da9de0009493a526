"""Scenario fixtures: the real Bolt app, built as `regclean serve` builds it, on the sandbox
(the `sandbox` fixture itself is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from sandbox.kube.fixtures import Fixture
from sandbox.registry import S3Server
from sandbox.slack import Message, SlackWorkspace
from sandbox.stack import RunningBot, Sandbox, running_bot

BOTH_MODES = pytest.mark.parametrize("bot", ["http", "socket"], indirect=True)
"""Run a scenario with the bot in HTTP mode and again in Socket Mode. The transports differ only in
how a request reaches Bolt and how it is acknowledged, so one scenario per kind of request (a slash
command with files, a button, a refusal) covers Socket Mode; the rest run in HTTP mode only."""


@pytest.fixture
async def bot(request: pytest.FixtureRequest, sandbox: Sandbox) -> AsyncIterator[RunningBot]:
    """The bot in HTTP mode, or in the mode `BOTH_MODES` parametrizes."""
    async with running_bot(sandbox, getattr(request, "param", "http")) as running:
        yield running


@pytest.fixture
async def http_bot(sandbox: Sandbox) -> AsyncIterator[RunningBot]:
    """The bot in HTTP mode only (request signing scenarios)."""
    async with running_bot(sandbox, "http") as running:
        yield running


def root(ws: SlackWorkspace) -> Message | None:
    """The run's root message, once posted."""
    return next((m for m in ws.messages if m.thread_ts is None), None)


def text_of(message: Message | Any) -> str:
    """All text of a message: its fallback text and every text in its blocks."""
    parts = [message.text]
    for block in message.blocks:
        for key in ("text",):
            if isinstance(block.get(key), dict):
                parts.append(block[key]["text"])
        for element in block.get("elements", []):
            if isinstance(element, dict) and "text" in element:
                parts.append(element["text"] if isinstance(element["text"], str) else element["text"]["text"])
    return "\n".join(parts)


async def inventory_done(ws: SlackWorkspace) -> Message:
    """Wait until the run's checklist shows the inventory step finished, and return it."""

    def finished(w: SlackWorkspace) -> Message | None:
        message = root(w)
        if message is None:
            return None
        text = text_of(message)
        return message if ("✅ *Record operators" in text or "❌ *Record operators" in text) else None

    return await ws.wait_for(finished, timeout=20)


async def record_large_inventory(
    workdir: Path, fixture: Fixture, s3: S3Server, prepare: Callable[[Sandbox], None] | None = None
) -> tuple[Sandbox, Message]:
    """Run one `/regclean inventory` of a generated fixture through HTTP mode, to its CSV files."""
    box = Sandbox(workdir, fixture, s3=s3)
    if prepare is not None:
        prepare(box)
    await box.start()
    try:
        async with running_bot(box, "http") as bot:
            await bot.driver.slash("UALICE", "inventory")
            checklist = await inventory_done(box.slack)
            await box.slack.wait_for(lambda w: len(w.files) >= 2, timeout=60)
    finally:
        await box.stop()
    return box, checklist


def installed_names(box: Sandbox) -> list[str]:
    """The names of the operatorviews whose phase is Installed."""
    views = box.kube.objects("operatorviews")
    return [o["metadata"]["name"] for o in views if o["status"]["operatorStatus"].get("phase") == "Installed"]
