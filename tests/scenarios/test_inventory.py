"""`/regclean inventory` through the real Bolt app, in HTTP and Socket Mode."""

from __future__ import annotations

import csv
import io

from sandbox.kube.fixtures import Fixture, installed_operators
from sandbox.kube.unkind import METRICS_API
from sandbox.slack import SlackWorkspace
from sandbox.stack import RunningBot, Sandbox, running_bot
from tests.scenarios.conftest import BOTH_MODES, inventory_done, root, text_of


def acks(ws: SlackWorkspace, user: str) -> list[str]:
    return [e.text + "".join(str(b) for b in e.blocks) for e in ws.ephemerals if e.user == user]


@BOTH_MODES
async def test_inventory_posts_a_checklist_a_summary_the_tables_and_csv_files(
    bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    reply = await bot.driver.slash("UALICE", "inventory")
    assert reply.status == 200
    checklist = await inventory_done(ws)
    assert "✅ *Record operators and cluster plugins*" in text_of(checklist)
    assert "⬜ Back up /cpaas/minio" in text_of(checklist)

    files = await ws.wait_for(lambda w: len(w.files) >= 2 and w.files)
    thread = ws.thread(checklist.ts)
    summary = text_of(thread[0])
    assert "Inventory recorded" in summary and "First inventory" in summary
    tables = "\n".join(text_of(m) for m in thread[1:])
    expected = installed_operators(_fixture(sandbox))
    for obj in expected:
        assert obj["metadata"]["name"] in tables
    operators_csv = next(f for f in files if f.name.endswith("-operators.csv"))
    rows = list(csv.DictReader(io.StringIO(operators_csv.content.decode())))
    assert len(rows) == len(expected)
    assert {(r["cluster"], r["name"]) for r in rows} == {
        (o["metadata"]["namespace"], o["metadata"]["name"]) for o in expected
    }
    assert all(f.thread_ts == checklist.ts for f in files)
    assert ws.rejections == []


async def test_an_operator_with_an_empty_channel_list_is_kept_without_a_display_name(
    bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await bot.driver.slash("UALICE", "inventory")
    await inventory_done(ws)
    files = await ws.wait_for(lambda w: len(w.files) >= 2 and w.files)
    operators = next(f for f in files if f.name.endswith("-operators.csv"))
    rows = list(csv.DictReader(io.StringIO(operators.content.decode())))
    empty = [
        o
        for o in sandbox.kube.objects("operatorviews")
        if (o.get("status", {}).get("packageManifestStatus") or {}).get("channels") == []
        and o["status"]["operatorStatus"].get("phase") == "Installed"
    ]
    assert empty, "the sample fixture must have an operator with an empty channel list"
    for obj in empty:
        [row] = [r for r in rows if r["name"] == obj["metadata"]["name"]]
        assert row["display_name"] == ""


async def test_the_second_inventory_shows_what_changed(bot: RunningBot, sandbox: Sandbox) -> None:
    ws = sandbox.slack
    await bot.driver.slash("UALICE", "inventory")
    first = await inventory_done(ws)
    await ws.wait_for(lambda w: len(w.files) >= 2)
    victim = installed_operators(_fixture(sandbox))[0]
    sandbox.kube.remove("operatorviews", victim["metadata"]["namespace"], victim["metadata"]["name"])

    await bot.driver.slash("UOSCAR", "inventory")  # oscar is an operator through @platform-ops
    await ws.wait_for(lambda w: len(w.files) >= 4)
    thread = ws.thread(first.ts)
    summaries = [text_of(m) for m in thread if "Inventory recorded" in text_of(m)]
    assert len(summaries) == 2
    assert "operators +0 −1 ~0" in summaries[1]
    changes = "\n".join(text_of(m) for m in thread if "What changed" in text_of(m))
    assert f"- operator {victim['metadata']['namespace']}/{victim['metadata']['name']}" in changes


@BOTH_MODES
async def test_a_stranger_is_refused_and_told_who_may_run_it(bot: RunningBot, sandbox: Sandbox) -> None:
    reply = await bot.driver.slash("UMALLORY", "inventory")
    assert reply.status == 200
    [text] = acks(sandbox.slack, "UMALLORY")
    assert "is for operators only" in text
    assert "<@UALICE>" in text and "@platform-ops" in text
    assert root(sandbox.slack) is None, "nothing was started"
    assert await bot.bot.runbook.status() is None


async def test_an_unknown_subcommand_is_named_and_the_help_shown(bot: RunningBot, sandbox: Sandbox) -> None:
    await bot.driver.slash("UALICE", "purgee everything")
    [text] = acks(sandbox.slack, "UALICE")
    assert "`purgee` is not a regclean command" in text
    assert "/regclean inventory" in text
    assert root(sandbox.slack) is None


async def test_a_bad_argument_is_named(bot: RunningBot, sandbox: Sandbox) -> None:
    await bot.driver.slash("UALICE", "status --verbose")
    [text] = acks(sandbox.slack, "UALICE")
    assert "`status` takes no arguments, but got `--verbose`" in text


async def test_help_lists_the_commands(bot: RunningBot, sandbox: Sandbox) -> None:
    await bot.driver.slash("UMALLORY", "help")
    [text] = acks(sandbox.slack, "UMALLORY")
    for command in ("/regclean help", "/regclean inventory", "/regclean status"):
        assert command in text


async def test_status_shows_the_runs_checklist(bot: RunningBot, sandbox: Sandbox) -> None:
    await bot.driver.slash("UBOB", "status")
    assert "No run is active" in acks(sandbox.slack, "UBOB")[0]
    await bot.driver.slash("UALICE", "inventory")
    await inventory_done(sandbox.slack)
    await bot.driver.slash("UBOB", "status")
    assert "✅ *Record operators and cluster plugins*" in acks(sandbox.slack, "UBOB")[-1]


async def test_a_failed_inventory_is_told_in_the_thread_and_to_the_requester(
    bot: RunningBot, sandbox: Sandbox
) -> None:
    sandbox.kube.fail(
        "/apis", 403, reason="Forbidden", message='apis is forbidden: User "regclean" cannot list'
    )
    ws = sandbox.slack
    await bot.driver.slash("UALICE", "inventory")
    checklist = await inventory_done(ws)
    assert "❌ *Record operators and cluster plugins* — failed" in text_of(checklist)
    private = await ws.wait_for(
        lambda w: [e for e in w.ephemerals if e.user == "UALICE" and e.source == "chat.postEphemeral"]
    )
    assert "403" in private[0].text
    assert any("failed" in text_of(m) and "403" in text_of(m) for m in ws.thread(checklist.ts))
    assert ws.files == []


def _fixture(sandbox: Sandbox) -> Fixture:
    return Fixture(objects=tuple(sandbox.kube.objects("operatorviews")))


async def test_typed_text_is_echoed_back_escaped(bot: RunningBot, sandbox: Sandbox) -> None:
    await bot.driver.slash("UALICE", "<!channel> hello")
    [ack] = [e for e in sandbox.slack.ephemerals if e.user == "UALICE"]
    assert "<!channel>" not in ack.text + str(ack.blocks)
    assert "&lt;!channel&gt;" in ack.text


NO_WAITING = {"REGCLEAN_KUBE_RETRY_SECONDS": "0"}
"""Retries only where `Retry-After: 0` asks for none: the scenarios never wait for real."""


async def test_an_unrelated_api_that_is_down_is_skipped_and_named_and_throttling_is_waited_out(
    sandbox: Sandbox,
) -> None:
    ws = sandbox.slack
    sandbox.kube.unavailable_api(METRICS_API)
    sandbox.kube.throttle(3, retry_after=0)
    async with running_bot(sandbox, "http", NO_WAITING) as bot:
        await bot.driver.slash("UALICE", "inventory")
        checklist = await inventory_done(ws)
        assert "✅ *Record operators and cluster plugins*" in text_of(checklist)
        summary = text_of(ws.thread(checklist.ts)[0])
        assert (
            "Skipped, as kubectl does, API groups that did not answer: `metrics.k8s.io/v1beta1` answered "
            "503 Service Unavailable: the server is currently unable to handle the request" in summary
        )
        assert "skipped API groups that did not answer: metrics.k8s.io/v1beta1" in text_of(checklist)
        stored = bot.bot.store.latest_inventory()
    assert stored is not None and stored.inventory is not None
    assert dict(stored.inventory.skipped) == {
        METRICS_API: "503 Service Unavailable: the server is currently unable to handle the request"
    }
    assert len(stored.inventory.operators) == len(installed_operators(_fixture(sandbox)))
    throttled = [p for _, p in sandbox.kube.requests[:4]]
    assert throttled[:3] == [throttled[0]] * 3, (
        "the first request was answered 429 three times, then asked again"
    )


async def test_a_stale_group_serving_the_plugins_fails_the_inventory_naming_it(sandbox: Sandbox) -> None:
    ws = sandbox.slack
    sandbox.kube.unavailable_api("app.alauda.io/v1alpha2")
    async with running_bot(sandbox, "http", NO_WAITING) as bot:
        await bot.driver.slash("UALICE", "inventory")
        checklist = await inventory_done(ws)
        assert "❌ *Record operators and cluster plugins* — failed" in text_of(checklist)
        private = await ws.wait_for(
            lambda w: [e for e in w.ephemerals if e.user == "UALICE" and e.source == "chat.postEphemeral"]
        )
        assert bot.bot.store.latest_inventory() is None
    assert (
        "app.alauda.io/v1alpha2 answered 503 Service Unavailable: the server is currently unable to handle "
        "the request. modulepluginviews cannot be listed" in private[0].text
    )
    assert ws.files == []
