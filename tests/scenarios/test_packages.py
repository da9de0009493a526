"""The packages as violet shows and verifies them in the preflight, the approver's acknowledgement of
packages without a verification file, and custom images by tag (through the real Bolt app on the
sandbox). The platform token's runbook is the registry cache's, tests/e2e/test_registry_cache.py."""

from __future__ import annotations

from sandbox.slack import SlackWorkspace
from sandbox.stack import RunningBot, Sandbox
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import (
    button,
    exported,
    preflight,
    recorded_and_backed_up,
    request_message,
)

ACK_UNVERIFIED = "regclean_ack_unverified"


def ephemeral_to(ws: SlackWorkspace, user: str, needle: str) -> bool:
    return any(e.user == user and needle in e.text for e in ws.ephemerals)


async def asked_for_purge_and_refused(bot: RunningBot, ws: SlackWorkspace) -> str:
    await bot.driver.slash("UALICE", "purge")
    refused = await ws.wait_for(
        lambda w: next(
            (e for e in w.ephemerals if e.user == "UALICE" and "gates do not hold" in e.text), None
        )
    )
    assert request_message(ws) is None, "no request was posted"
    return refused.text


async def test_a_package_violet_cannot_show_is_named_with_its_error_and_the_purge_waits(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await recorded_and_backed_up(http_bot, ws, sandbox.kube)
    sandbox.corrupt_package("cilium-v4.2.17.tgz")
    report = text_of(await preflight(http_bot, ws))
    assert (
        "violet cannot show cilium-v4.2.17.tgz (Error: invalid package cilium-v4.2.17.tgz: gzip: invalid header)"
        in (report)
    )
    assert "❌ *A package for every installed operator and plugin*" in report
    refused = await asked_for_purge_and_refused(http_bot, ws)
    assert "A package for every installed operator and plugin" in refused


async def test_packages_are_matched_by_what_violet_shows_not_by_their_file_names(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await recorded_and_backed_up(http_bot, ws, sandbox.kube)
    # The operator's package under a name that says nothing, and one named like it that holds another.
    (sandbox.plugin_dir / "clickhouse-operator.v4.2.0.tgz").rename(sandbox.plugin_dir / "ch-latest.tgz")
    (sandbox.plugin_dir / "envoy-gateway-operator.tgz").rename(
        sandbox.plugin_dir / "redis-operator.v4.2.1.tgz"
    )
    (sandbox.plugin_dir / "redis-operator.v4.2.1.tgz.sig").unlink()
    (sandbox.plugin_dir / "envoy-gateway-operator.tgz.sig").rename(
        sandbox.plugin_dir / "redis-operator.v4.2.1.tgz.sig"
    )
    report = text_of(await preflight(http_bot, ws))
    assert "operator global/clickhouse-operator" not in report, "found by its Artifact and Version"
    assert "no package for operator global/redis-operator: needs redis-operator v4.2.1" in report
    assert "no package for operator business-2/redis-operator" in report
    assert "envoy-gateway-operator" not in report.split("verified", 1)[0], (
        "its package, whatever it is called"
    )


async def test_a_package_that_fails_verification_blocks_the_purge(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await recorded_and_backed_up(http_bot, ws, sandbox.kube)
    sandbox.break_verification("kafka-operator.v4.1.8.tgz", "mismatch")
    message = await preflight(http_bot, ws)
    report = text_of(message)
    assert "❌ *Packages verified (signature or checksum)*" in report
    assert "Verification failed: kafka-operator.v4.1.8.tgz." in report
    assert button(message, ACK_UNVERIFIED) is None, "a failed package cannot be acknowledged away"
    await exported(http_bot, ws, message)
    refused = await asked_for_purge_and_refused(http_bot, ws)
    assert "Packages verified (signature or checksum)" in refused


async def test_a_package_without_verification_file_waits_for_an_approvers_acknowledgement(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await recorded_and_backed_up(http_bot, ws, sandbox.kube)
    sandbox.break_verification("hami-v2.5.1.tgz", "missing")
    message = await preflight(http_bot, ws)
    report = text_of(message)
    assert (
        "No verification file: hami-v2.5.1.tgz." in report
        and "*1 package has no verification file*" in report
    )
    await exported(http_bot, ws, message)
    await asked_for_purge_and_refused(http_bot, ws)

    pressed = button(message, ACK_UNVERIFIED)
    assert pressed is not None
    await http_bot.driver.click("UALICE", ACK_UNVERIFIED, pressed["value"], message=message)  # an operator
    await ws.wait_for(
        lambda w: ephemeral_to(w, "UALICE", "only approvers may acknowledge unverified packages")
    )
    await http_bot.driver.click("UBOB", ACK_UNVERIFIED, pressed["value"], message=message)
    await ws.wait_for(lambda w: ephemeral_to(w, "UBOB", "You acknowledged 1 packages"))
    await ws.wait_for(lambda w: "Acknowledged by *bob*." in text_of(message))  # the gate names him
    assert button(message, ACK_UNVERIFIED) is None, "the report lost its button"
    run = await http_bot.bot.runbook.status()
    assert run is not None
    audit = [(e.actor, e.action) for e in http_bot.bot.store.audit_log(run.id)]
    assert audit.count(("UBOB", "unverified_packages.acknowledged")) == 1
    assert ("UALICE", "unverified_packages.acknowledged") not in audit

    await http_bot.driver.slash("UALICE", "purge")
    request = await ws.wait_for(request_message, timeout=30)
    assert "1 packages without a verification file, acknowledged by *bob*" in text_of(request)


async def test_custom_images_are_tags_listed_with_the_workloads_that_use_them(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await recorded_and_backed_up(http_bot, ws, sandbox.kube)
    report = text_of(await preflight(http_bot, ws))
    assert "*2 custom images*" in report
    assert "retail/order-service:1.4.2  ← " in report and "retail/report-builder:2.0.0-rc1  ← " in report
    line = next(x for x in report.splitlines() if "retail/order-service:1.4.2  ← " in x)
    assert line.split("← ", 1)[1].startswith("retail-prod/order-service-"), "named by the pods that run it"
    assert "acp/archon" not in report.split("custom images*", 1)[1], "the platform-namespace rule"
