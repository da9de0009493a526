"""Custom images survive the purge (through the real Bolt app on the sandbox, with its real
docker-registry): the preflight offers the export, the export writes the run's OCI layout and
reads it back, a line per image in one message updated in place."""

from __future__ import annotations

import json

import pytest

from sandbox.platform import custom_images
from sandbox.slack import SlackWorkspace
from sandbox.stack import INSTALLER_NODE, RunningBot, Sandbox, running_bot
from tests.scenarios.conftest import text_of
from tests.scenarios.flow import EXPORT, approve, button, exported, in_thread, preflight, ready_for_purge

pytestmark = pytest.mark.lean  # the lean sample will do (tests/conftest.py, `sandbox`)


async def test_the_preflight_offers_the_export_and_it_writes_every_custom_image_to_the_runs_layout(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    report = await preflight(http_bot, ws)
    custom = sorted(custom_images(sandbox))
    assert custom and all(tag in text_of(report) for tag in custom)
    pressed = button(report, EXPORT)
    assert pressed is not None and f"Export {len(custom)} custom images" in pressed["text"]["text"]

    await http_bot.driver.click("UMALLORY", EXPORT, pressed["value"], message=report)
    await ws.wait_for(
        lambda w: any(e.user == "UMALLORY" and "only operators" in e.text for e in w.ephemerals)
    )
    assert in_thread(ws, "Custom images exported") is None, "a non-operator's click exports nothing"

    result = await exported(http_bot, ws, report)
    shown = text_of(result)
    assert f"{len(custom)} of {len(custom)} custom images exported and verified" in shown
    layout = sandbox.workdir / "exports" / "run-1"
    index = json.loads((layout / "index.json").read_text())
    names = sorted(m["annotations"]["org.opencontainers.image.ref.name"] for m in index["manifests"])
    assert names == custom
    for entry in index["manifests"]:
        tag = entry["annotations"]["org.opencontainers.image.ref.name"]
        assert f"✓ {tag}  " in shown and f"\n  {entry['digest']}" in shown, "each image names its digest"
    assert str(layout) in shown


def acks(ws: SlackWorkspace, user: str) -> list[str]:
    return [e.text for e in ws.ephemerals if e.user == user]


async def test_only_an_approver_waives_a_custom_image_and_the_thread_names_its_workloads(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    await preflight(http_bot, ws)
    tag = sorted(custom_images(sandbox))[0]
    await http_bot.driver.slash("UALICE", f"waive {tag}")
    refused = acks(ws, "UALICE")[-1]
    assert "`/regclean waive` is for approvers only" in refused and "<@UBOB>" in refused
    await http_bot.driver.slash("UBOB", "waive retail/nothing:1")
    assert "Not custom images of this run's preflight: retail/nothing:1" in acks(ws, "UBOB")[-1]
    await http_bot.driver.slash("UBOB", f"waive {tag}")
    assert acks(ws, "UBOB")[-1] == f"You waived {tag}: the purge may delete them unexported."
    notice = await ws.wait_for(lambda w: in_thread(w, "waived 1 custom image:"))
    assert tag in text_of(notice) and "used by" in text_of(notice)


def corrupt_a_layer(sandbox: Sandbox, tag: str) -> str:
    """Flip one byte of the first layer of tag's (first) image in the run's export; its digest."""
    blobs = sandbox.workdir / "exports" / "run-1" / "blobs" / "sha256"
    index = json.loads((sandbox.workdir / "exports" / "run-1" / "index.json").read_text())
    [entry] = [m for m in index["manifests"] if m["annotations"]["org.opencontainers.image.ref.name"] == tag]
    manifest = json.loads((blobs / entry["digest"].split(":")[1]).read_text())
    if "manifests" in manifest:  # an index: its first platform's image
        manifest = json.loads((blobs / manifest["manifests"][0]["digest"].split(":")[1]).read_text())
    layer = manifest["layers"][0]["digest"]
    path = blobs / layer.split(":")[1]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    return str(layer)


async def test_a_blob_changed_in_the_export_after_the_approval_voids_the_purge_and_refuses_a_new_request(
    http_bot: RunningBot, sandbox: Sandbox
) -> None:
    ws = sandbox.slack
    objects = sandbox.s3.object_count()
    request = await ready_for_purge(http_bot, sandbox)
    assert "Custom images exported" in text_of(request), "the plan names the exported tags"
    await approve(http_bot, "UBOB", request)
    await ws.wait_for(lambda w: "1 of 2 approved" in text_of(request))
    tag = sorted(custom_images(sandbox))[0]
    layer = corrupt_a_layer(sandbox, tag)
    await approve(http_bot, "UCAROL", request)
    await ws.wait_for(lambda w: "changed" in text_of(request))
    assert sandbox.s3.object_count() == objects, "nothing was deleted"

    await http_bot.driver.slash("UALICE", "purge")
    said = await ws.wait_for(
        lambda w: next(
            (e.text for e in w.ephemerals if e.user == "UALICE" and "gates do not hold" in e.text), None
        )
    )
    assert f"{tag}: blob {layer}" in said and f"used by {tag}" in said
    await http_bot.bot.runbook.drain()
    assert sandbox.s3.object_count() == objects


async def test_the_export_goes_to_a_nodes_disk_over_sftp_and_is_read_back_there_by_the_next_preflight(
    sandbox: Sandbox,
) -> None:
    ws = sandbox.slack
    root = sandbox.workdir.resolve() / "node-exports"  # the sandbox's nodes serve this machine's files
    overrides = {"REGCLEAN_EXPORT_DIR": f"sftp://{INSTALLER_NODE}{root}"}
    async with running_bot(sandbox, "http", overrides) as bot:
        result = await exported(bot, ws, await preflight(bot, ws))
        assert f"sftp://{INSTALLER_NODE}{root}/run-1" in text_of(result)
        index = json.loads((root / "run-1" / "index.json").read_text())
        assert len(index["manifests"]) == len(custom_images(sandbox))
        report = text_of(await preflight(bot, ws))
        assert "✅ *Registry recorded, its cache clearable, custom images exported*" in report
        assert f"2 custom images exported and verified (at sftp://{INSTALLER_NODE}{root}/run-1)" in report
        await bot.bot.runbook.drain()
