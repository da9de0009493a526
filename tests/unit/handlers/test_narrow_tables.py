"""Every table the bot posts in a channel or thread fits a phone: each line of a code block is at most
80 columns as a monospace font shows it, and nothing the wide tables showed is lost (it is in the
message, or in the inventory's CSV files)."""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

from actions.backup import BackupResult, NodeBackup
from actions.exported import ExportedImage, ImageOutcome
from actions.inventory import Installation, Inventory, OperatorRow, PluginRow
from bot.core.model import SnapshotView
from bot.core.notifier import InventoryReport
from bot.steps.approval.plan import PlannedBackup, PlannedCustomImages
from bot.steps.export.model import ImagesReport
from bot.steps.inventory.diff import Change, InventoryDiff, RowDiff
from bot.steps.inventory.render import operators_csv, plugins_csv
from bot.steps.restore.model import ImageCheck, PackagePush, PluginRestore, Verification
from handlers.blocks.approval import approval_blocks, approval_text
from handlers.blocks.approval_scope import shell_lines
from handlers.blocks.backup import result_blocks
from handlers.blocks.custom_images import images_blocks, images_text
from handlers.blocks.inventory import diff_messages, summary_blocks, table_messages
from handlers.blocks.preflight import preflight_blocks, preflight_text
from handlers.blocks.restore import plugins_blocks, verification_blocks
from handlers.blocks.tables import narrow_table
from sandbox.hostile import forged_lines, hostile, leaks
from tests.unit.handlers.samples import CACHE, NOW, RUN, STEP, notice, plan, record, report, request, valid

WIDE = "TiDB 分布式数据库"
LONG_CSV = "envoy-gateway-operator.v1.5.0-build.20251226181113"
LONG_PATH = "/var/lib/regclean-staging/nodes/acp-global-master-01/cpaas/backup/10.120.33.101-minio.tar"
"""Longer than a line with its key: it wraps after a `/`."""
DIGEST = "sha256:" + "9f" * 32


def columns(text: str) -> int:
    """Columns in a monospace font, counted here independently of the code under test."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def code_lines(blocks: list[dict[str, Any]]) -> list[str]:
    """Every line inside a code block of the sections, as Slack shows it (entities decoded)."""
    lines = []
    for block in blocks:
        if block["type"] != "section":
            continue
        for code in re.findall(r"```(.*?)```", block["text"]["text"], flags=re.DOTALL):
            text = code.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
            lines += text.split("\n")
    return lines


def narrow(blocks: list[dict[str, Any]]) -> list[str]:
    """The code lines, asserted within 80 columns (and that there are some)."""
    lines = code_lines(blocks)
    assert lines, "the message has a code block"
    wide = [line for line in lines if columns(line) > 80]
    assert not wide, f"lines wider than 80 columns: {wide}"
    return lines


def shows(lines: list[str], value: str) -> bool:
    """`value` is in the lines, whole on one line or wrapped over several (at a space or not)."""
    stripped = [line.strip() for line in lines]
    rejoined = "".join(
        line + ("" if line.endswith(("/", ",", ";", "|")) else " ") for line in stripped
    )  # as `wrap()` breaks: after a kept separator, or at a space
    texts = ("\n".join(lines), rejoined, " ".join(stripped), "".join(stripped))
    return any(value in text or _spaced(value) in _spaced(text) for text in texts)


def _spaced(text: str) -> str:
    """Runs of spaces as one: the columns of a key–value line are padded."""
    return re.sub(" +", " ", text)


def inventory() -> Inventory:
    operators = (
        OperatorRow("global", "envoy-gateway-operator", "Installed", "envoy-gateway-operator", LONG_CSV, "Alauda build of Envoy Gateway"),
        OperatorRow("global", "tidb-operator", "Installed", "tidb-operator-artifact", "tidb-operator.v1.6.1", WIDE),
        OperatorRow("business-cluster-shanghai-01", "rds-operator", "Installed", "rds-operator", "rds-operator.v4.2.2", "Alauda Container Platform Data Services RDS Framework"),
        OperatorRow("business-cluster-shanghai-01", "tektoncd-operator", "Installed", "tektoncd-operator", None, "Alauda DevOps Pipelines"),
    )  # fmt: skip
    plugins = (
        PluginRow(
            "logcenter",
            "aligned",
            tuple(Installation(f"business-cluster-{i:02d}", "v4.2.2") for i in range(6)),
            "Alauda Container Platform Log Storage for ClickHouse",
        ),
        PluginRow("application-services-core", "agnostic", (), "Alauda Container Platform Data Services Essentials"),
        PluginRow("tidb", "agnostic", (Installation("global", "v1.6.1"),), WIDE * 4),
    )  # fmt: skip
    return Inventory(operators=operators, plugins=plugins)


def test_the_inventory_tables_fit_a_phone_and_the_csv_files_have_every_column() -> None:
    inv = inventory()
    messages = list(table_messages(inv))
    lines = [line for blocks in messages for line in narrow(blocks)]
    for o in inv.operators:
        assert shows(lines, f"{o.cluster} ("), o.cluster
        assert shows(lines, o.name or "") and shows(lines, o.installed_csv or "<none>")
    for p in inv.plugins:
        assert shows(lines, p.module or "") and shows(lines, p.lifecycle)
        for i in p.installed:
            assert shows(lines, f"{i.cluster}:{i.version}")
    assert any(LONG_CSV in line for line in lines), "a CSV name is whole on its line"
    titles = "\n".join(b["text"]["text"] for blocks in messages for b in blocks[:1])
    assert "in the CSV file below" in titles
    csv = "".join(operators_csv(inv)) + "".join(plugins_csv(inv))
    for o in inv.operators:
        assert f"{o.artifact},{o.installed_csv or ''},{o.display_name}" in csv
    for p in inv.plugins:
        assert f",{p.display_name}" in csv


def test_the_summary_and_the_diff_fit_a_phone_with_every_changed_value() -> None:
    inv = inventory()
    snapshot = SnapshotView(2, 1, NOW, "UALICE", inv)
    before = dataclasses.replace(
        inv.operators[0], installed_csv="envoy-gateway-operator.v1.4.9-build.20251001000000"
    )
    old_plugin = dataclasses.replace(inv.plugins[2], installed=())
    diff = InventoryDiff(
        RowDiff((inv.operators[1],), (inv.operators[2],), (Change(before, inv.operators[0]),)),
        RowDiff((inv.plugins[0],), (), (Change(old_plugin, inv.plugins[2]),)),
    )
    summary = summary_blocks(RUN, STEP, InventoryReport(snapshot, inv, None, None))
    assert shows(narrow(summary), "business-cluster-shanghai-01")
    [changes] = list(diff_messages(diff))
    lines = narrow(changes)
    assert shows(lines, f"+ operator global/{inv.operators[1].name}") and shows(lines, WIDE)
    assert shows(lines, "tidb-operator-artifact")
    assert shows(lines, "- operator business-cluster-shanghai-01/rds-operator")
    assert shows(lines, "Alauda Container Platform Data Services RDS Framework")
    assert shows(lines, f"installed_csv {before.installed_csv} → {LONG_CSV}")
    assert shows(lines, "+ plugin logcenter") and shows(lines, "business-cluster-05:v4.2.2")
    assert shows(lines, "~ plugin tidb") and shows(lines, "installed <none> → global:v1.6.1")


def node(i: int, *, verified: bool = True) -> NodeBackup:
    at = datetime(2026, 12, 4, 13, 0, tzinfo=UTC)
    path = LONG_PATH.replace("101", f"10{i}")
    sha = f"{i}" * 64 if verified else None
    return NodeBackup(f"acp-global-master-0{i}", f"10.120.33.10{i}", path, 5 * 2**20 + i, 1140 + i, sha, verified, None if verified else "tar exited 2", at)  # fmt: skip


def test_the_backup_is_key_value_lines_per_node_with_each_sha256_whole() -> None:
    result = BackupResult((node(1), node(2), node(3, verified=False)))
    blocks = result_blocks(RUN, STEP, result)
    valid("backup", blocks)
    lines = narrow(blocks)
    for n in result.nodes:
        assert shows(lines, n.node) and shows(lines, n.address) and shows(lines, n.archive)
        assert shows(lines, f"{n.entries} entries") and shows(lines, "5.0 MiB")
        if n.sha256:
            assert any(line.split() == ["sha256", n.sha256] for line in lines), "whole, for sha256sum"
    assert shows(lines, "NOT verified") and sum(" verified" in line for line in lines) == 3


def test_the_purge_request_shows_backups_and_the_rest_of_the_plan_within_a_phone() -> None:
    backups = tuple(
        PlannedBackup(n.node, n.address, n.archive, n.bytes, n.sha256 or "a" * 64) for n in (node(1), node(2))
    )
    exported = tuple((f"retail/order-service-with-a-long-name:1.4.{i}", DIGEST) for i in range(3))
    planned = plan(
        backups=backups,
        registry_cache=CACHE,
        custom_images=PlannedCustomImages(
            "/var/lib/regclean/exports/run-1", exported, (("retail/x:1", "UBOB"),)
        ),
    )
    the_notice = notice(request(the_plan=planned))
    blocks = approval_blocks(the_notice)
    valid(approval_text(the_notice), blocks)
    lines = narrow(blocks)
    assert shows(lines, "mc --insecure rm --recursive --force minio/registry/"), "the command, in lines"
    for b in backups:
        assert shows(lines, b.archive) and any(line.split() == ["sha256", b.sha256] for line in lines)
        assert shows(lines, f"{b.node}  {b.address}  5.0 MiB")
    for tag, digest in exported:
        assert shows(lines, tag) and any(line.strip() == digest for line in lines)
    assert shows(lines, "custom_images.location  /var/lib/regclean/exports/run-1")
    assert shows(lines, "custom_images.waived[0].by  UBOB")
    assert shows(lines, "registry_cache.redirect_disabled  true")


def test_custom_images_show_each_digest_whole_under_its_tag() -> None:
    tag = "retail/" + "order-service-" * 4 + ":1.4.2"
    done = ImageOutcome(
        tag, True, None, ExportedImage(tag, DIGEST, "application/vnd.oci.image.index.v1+json", 2, 4, 2900)
    )
    broken = ImageOutcome("retail/report-builder:2.0.0-rc1", False, "registry error: 500 Internal Server Error for the manifest " * 2, None)  # fmt: skip
    finished = ImagesReport(
        "export", "/var/lib/regclean/exports/run-1", (tag, broken.tag), (done, broken), True, "1 of 2"
    )
    blocks = images_blocks(RUN, STEP, finished)
    valid(images_text(finished), blocks)
    lines = narrow(blocks)
    assert any(line.strip() == DIGEST for line in lines)
    assert shows(lines, f"✓ {tag}  2.8 KiB, 2 platforms")
    assert shows(lines, f"✗ {broken.tag}") and shows(lines, (broken.problem or "").strip())


def test_the_preflight_lists_custom_tags_and_their_workloads_within_a_phone() -> None:
    tags = ("retail/order-service:1.4.2", "retail/report-builder:2.0.0-rc1")
    users = tuple(f"retail-prod/order-service-84c7f9b6d-{i:05d}" for i in range(4))
    rec = record(custom=tags, custom_workloads={tags[0]: users})
    blocks = preflight_blocks(RUN, report(rec))
    valid(preflight_text(report(rec)), blocks)
    lines = narrow(blocks)
    assert shows(lines, f"{tags[0]}  ← " + ", ".join(users)) and shows(lines, f"{tags[1]}  ← unused")


def test_restore_and_verify_failures_fit_a_phone() -> None:
    tail = (
        "pushing chart-cilium",
        "error: failed to push h.io/acp/chart-cilium:v4.2.17: 502 Bad Gateway " * 2,
    )
    restore = PluginRestore((PackagePush("cilium-v4.2.17-with-a-long-package-name.tgz", False, 1, tail),))
    blocks = plugins_blocks(RUN, STEP, restore)
    lines = narrow(blocks)
    assert shows(lines, "cilium-v4.2.17-with-a-long-package-name.tgz: exit 1")
    said = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert "`/regclean restore plugins --retry-failed`" in said, (
        "the report says how to push only those again"
    )
    assert shows(lines, " | ".join(tail).strip())
    image = "registry.example:60080/" + "acp/very-long-repository-name/" * 3 + "core:latest"
    check = ImageCheck(image, False, "manifest unknown: the registry answered 404 for " + image)
    lines = narrow(verification_blocks(RUN, STEP, Verification("all", (check,))))
    assert shows(lines, image) and shows(lines, check.problem or "")


def test_a_hostile_value_wrapped_over_lines_stays_inside_its_code_block() -> None:
    evil = OperatorRow(
        "global", hostile("op"), "Installed", hostile("art"), hostile("op.v1"), hostile("名前" * 30)
    )
    plugin = PluginRow(hostile("plugin"), "agnostic", (Installation(hostile("c"), "v1"),), hostile("名"))
    diff = InventoryDiff(RowDiff((evil,), (), ()), RowDiff((plugin,), (), ()))
    inv = Inventory(operators=(evil,), plugins=(plugin,))
    messages = [*table_messages(inv), *diff_messages(diff)]
    backup = result_blocks(
        RUN, STEP, BackupResult((dataclasses.replace(node(1), node=hostile("n"), archive=hostile("/a/b")),))
    )
    for blocks in [*messages, backup]:
        narrow(blocks)
        for block in blocks:
            text = block["text"]["text"] if block["type"] == "section" else ""
            assert text.count("```") % 2 == 0 and not forged_lines(text) and not leaks(text)


def test_the_purge_command_breaks_only_where_a_shell_reads_the_same_command() -> None:
    quoted = '"a value with   spaces that must stay in one piece, whatever the width of the line"'
    command = (
        f". /etc/config/minio.env && mc --insecure alias set minio https://minio:9000 {quoted} && mc rm x"
    )
    lines = shell_lines(command)
    assert all(columns(line) <= 80 for line in lines if quoted not in line)
    assert any(line.strip().startswith(quoted) for line in lines), "a quoted word is never split"
    assert lines[0].endswith(" &&") and lines[1].endswith(" \\")
    joined = " ".join(line.removesuffix(" \\").strip() for line in lines)
    assert joined == command


def test_columns_line_up_as_a_monospace_font_shows_wide_characters() -> None:
    head, rows = narrow_table(("NAME", "VERSION"), [("分布式数据库", "v1"), ("tidb-operator", "v2")])
    lines = [head or "", *(line for row in rows for line in row)]
    starts = [columns(line[: line.index(v)]) for line, v in zip(lines, ("VERSION", "v1", "v2"), strict=True)]
    assert len(set(starts)) == 1, lines
