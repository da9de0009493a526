"""The night from the terminal while Slack answers no one: `regclean window|purge|verify|restore|status`
in-process (`main`, in a worker thread beside the sandbox's servers), on the database of the serving bot.

The purge stays two-person: the terminal refuses it (exit 3) until the request made in Slack has its
two distinct approvals, then starts exactly that plan (exit 0). After the core restore, one plugin
package fails once: `restore plugins` exits 1 naming it and `--retry-failed`, with every package's output
kept, labelled, in the step's file; `restore plugins --retry-failed` pushes only that package again and
goes on to the custom images, the pull check and the close. One sandbox walks the whole story.
"""

from __future__ import annotations

import asyncio
import getpass
import json
from datetime import timedelta

import pytest

from bot.audit import actors, trail
from bot.cli import main
from bot.store.migrate import open_database
from bot.store.runs import Store
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import approve, gates_hold, in_thread, request_message

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)

ME = f"cli:{getpass.getuser()}"


async def regclean(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`regclean ARGV` in a worker thread (it runs its own event loop); the exit code, stdout, stderr."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.timeout(300)  # the night on real servers, a retry included: 50–70 s here, more beside a worker
async def test_the_terminal_purges_only_what_slack_approved_and_walks_the_night_to_its_close(
    http_bot: RunningBot,
    sandbox: Sandbox,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in sandbox.environment("http").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(actors, "_names", {})  # `--as` below: the name stays in this test
    ws, bot = sandbox.slack, http_bot
    start = (bot.clock.now() - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%MZ")
    code, out, _ = await regclean(capsys, "window", start, "6h")
    assert code == 0 and "Now is inside the window" in out  # so the approval waits for a choice
    await gates_hold(bot, sandbox)

    code, _, err = await regclean(capsys, "purge")
    assert code == 3 and "has no purge request" in err and "/regclean purge" in err
    await bot.driver.slash("UALICE", "purge")
    request = await ws.wait_for(request_message, timeout=30)
    code, _, err = await regclean(capsys, "purge")
    assert code == 3 and "needs 2 more approvals from distinct approvers" in err
    await approve(bot, "UBOB", request)
    await ws.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    code, _, err = await regclean(capsys, "purge")
    assert code == 3 and "needs 1 more approval from" in err and "approved by UBOB" in err
    await approve(bot, "UCAROL", request)
    await ws.wait_for(lambda w: in_thread(w, "choose when it runs"), timeout=30)

    code, out, err = await regclean(capsys, "purge", "--as", "Dana Ops", "--format", "json")
    assert code == 0, err
    purged = json.loads(out)
    assert purged["schema"] == 1 and purged["exit"] == 0 and purged["refusals"] == []
    assert [(s["name"], s["state"]) for s in purged["steps"]] == [("purge", "succeeded")]
    run = purged["run"]
    code, _, err = await regclean(capsys, "purge")
    assert code == 3 and "is started" in err, "a request purges once"

    code, out, _ = await regclean(capsys, "verify", "--format", "json")
    assert code == 1, "nothing pulls before the restore: the step fails"
    verify = json.loads(out)
    assert verify["run"] == run and [(s["name"], s["state"]) for s in verify["steps"]] == [
        ("verify", "failed")
    ]

    code, out, err = await regclean(capsys, "restore", "core")
    assert code == 0, err
    assert "restore_core" in out or "restore core" in out.replace("_", " ")
    broken = sorted(sandbox.package_images)[0]
    sandbox.fail_package(broken, "once")
    code, out, _ = await regclean(capsys, "restore", "plugins", "--format", "json")
    assert code == 1, "a package failed, so the step did: exit 1 (README, the exit status)"
    failed = json.loads(out)
    assert failed["exit"] == 1 and failed["refusals"] == []
    # The pull check follows even so; the custom images wait for a restore without failures.
    assert [(s["name"], s["state"]) for s in failed["steps"]] == [
        ("restore_plugins", "failed"),
        ("verify", "failed"),
    ]
    plugins = failed["steps"][0]
    # The terminal's notifier is the console, not the thread: the step's error names what to do.
    assert broken in plugins["error"] and "`/regclean restore plugins --retry-failed`" in plugins["error"]
    # Every package's violet output, each line labelled with its package, in the step's file.
    kept = (sandbox.workdir / "logs" / f"run-{run}" / f"restore_plugins-{plugins['id']}.log").read_text()
    labels = {line.split("] ", 1)[0].lstrip("[") for line in kept.splitlines()}
    assert labels == set(sandbox.package_images), labels
    assert any(line.startswith(f"[{broken}] regclean: ") for line in kept.splitlines())
    node = sandbox.nodes.nodes["127.0.0.11"]
    before = len(node.commands)
    code, out, err = await regclean(capsys, "restore", "plugins", "--retry-failed", "--format", "json")
    pushed = [c for c in node.commands[before:] if "violet" in str(c)]
    assert len(pushed) <= 2, f"only the failed package is pushed again: {pushed}"
    assert pushed and all(broken in str(c) for c in pushed), pushed
    assert code == 0, err
    names = [s["name"] for s in json.loads(out)["steps"] if s["state"] == "succeeded"]
    assert names[-1] == "close", names

    code, out, _ = await regclean(capsys, "status", "--format", "json")
    status = json.loads(out)
    assert code == 0 and status["run"] is None and status["last_finished"]["run"] == run

    store = Store(open_database(sandbox.environment("http")["DATABASE_URL"]))
    try:
        closed = store.run(run)
    finally:
        store.close()
    assert closed is not None
    steps = closed.steps
    (purge,) = [s for s in steps if s.name == "purge"]
    assert purge.requested_by == ME
    db = open_database(sandbox.environment("http")["DATABASE_URL"])
    try:
        rows = trail.read(db)
        named = {r["action"]: r["actor_name"] for r in rows if r["actor"] == ME}
    finally:
        db.close()
    assert named["window.declared"] == getpass.getuser(), "without --as, the login"
    assert named["purge.started"] == "Dana Ops", "the purge's start names the person"
    (decided,) = [r for r in rows if r["action"] == "purge.now"]
    assert (decided["actor"], decided["detail"]["request"], decided["detail"]["from"]) == (
        ME,
        purged["request"],
        "cli",
    )
    assert {s.requested_by for s in steps if s.name in ("restore_core", "close")} == {ME}
