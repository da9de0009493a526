"""Block Kit for a preflight: every gate as a checklist line, what was read, the packages violet
could not show or verify, and the custom images with the workloads that use them."""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.model import RunView
from bot.steps.preflight.gates import Gate
from bot.steps.preflight.model import PreflightRecord, PreflightReport
from handlers.blocks.custom_images import export_button
from handlers.blocks.run import named, slack_date
from handlers.blocks.tables import (
    SECTION_BUDGET,
    Block,
    capped_entries,
    context,
    header,
    inline,
    section,
    truncate,
    wrap,
)

ACK_UNVERIFIED = "regclean_ack_unverified"
"""The button that acknowledges a preflight's packages without a verification file (value: the record's id)."""

#: code blocks of custom image names in one message; the rest is counted, not listed
CUSTOM_SECTIONS = 6
#: a gate's detail or remedy is cut here, so that every gate fits one section
GATE_TEXT = 1200


def gate_line(gate: Gate) -> str:
    """`✅ *title* — detail`, and for a gate that fails, what would satisfy it."""
    icon = "✅" if gate.passed else "❌"
    line = f"{icon} *{inline(gate.title)}*"
    if gate.detail:
        line += f" — {gate_detail(gate)}"
    if not gate.passed and gate.remedy:
        line += f"\n        ↳ {inline(truncate(gate.remedy, GATE_TEXT))}"
    return line


def gate_detail(gate: Gate) -> str:
    """What a gate found, escaped: with its people named and its times as Slack dates."""
    if gate.said is not None:  # the core keeps a detail with people or times short
        return gate.said.render(named, inline, slack_date)
    return inline(truncate(gate.detail, GATE_TEXT))


def gate_sections(gates: Iterable[Gate]) -> list[Block]:
    """The gates, packed into as few sections as fit."""
    sections: list[str] = []
    for line in (gate_line(g) for g in gates):
        if sections and len(sections[-1]) + 1 + len(line) <= SECTION_BUDGET:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    return [section(s) for s in sections]


def preflight_blocks(run: RunView, report: PreflightReport) -> list[Block]:
    """The preflight report for the run's thread."""
    failed, total = len(report.failed), len(report.gates)
    if failed:
        verdict = f":x: *{failed} of {total} gates do not hold.* The purge cannot be asked for yet."
    else:
        verdict = f":white_check_mark: *All {total} gates hold.* Ask for the purge with `/regclean purge`."
    blocks: list[Block] = [
        header(f"Preflight — run #{run.id}"),
        section(verdict),
        *gate_sections(report.gates),
    ]
    record = report.record
    if record is None:
        blocks.append(context("Nothing was read from the registry or the plugin directory."))
        return blocks
    blocks.append(section(_summary(record)))
    blocks.extend(unverified_blocks(record))
    blocks.extend(custom_blocks(record))
    blocks.append(
        context(
            f"Preflight #{record.id}, checked by {named(record.recorded_by)} at {slack_date(record.recorded_at)}"
        )
    )
    return blocks


def _summary(record: PreflightRecord) -> str:
    return (
        f"*Registry* `{inline(record.registry)}`: *{len(record.repositories):,}* repositories, "
        f"*{record.tag_count:,}* tags.\n"
        f"*Workloads* of the global cluster use *{len(record.workload_images):,}* images from it.\n"
        f"*Packages*: *{len(record.packages):,}* in `{inline(record.plugin_dir)}` "
        f"on `{inline(record.installer_node)}`."
    )


def unverified_blocks(record: PreflightRecord) -> list[Block]:
    """The packages without a verification file: the acknowledge button, or who acknowledged them."""
    missing = record.verification.missing if record.verification is not None else ()
    if not missing:
        return []
    noun = "package has" if len(missing) == 1 else "packages have"
    names = ", ".join(f"`{inline(truncate(f, 100))}`" for f in missing[:20])
    more = f" …and {len(missing) - 20:,} more" if len(missing) > 20 else ""
    blocks: list[Block] = [
        section(
            f"*{len(missing):,} {noun} no verification file* (no `.sig` or checksum next to it), so nothing "
            f"vouches for what the restore would push: {names}{more}."
        )
    ]
    if record.verify_ack_by is None:
        blocks.append(
            _button(
                ACK_UNVERIFIED,
                record.id,
                f"Acknowledge {len(missing):,} unverified",
                "Acknowledge unverified packages?",
                f"The restore pushes these {len(missing):,} packages although no signature or checksum "
                "vouches for them. Only an approver may acknowledge this.",
            )
        )
    else:
        at = f" at {slack_date(record.verify_ack_at)}" if record.verify_ack_at is not None else ""
        blocks.append(context(f":white_check_mark: Acknowledged by {named(record.verify_ack_by)}{at}."))
    return blocks


def custom_blocks(record: PreflightRecord) -> list[Block]:
    """The custom images, cut to fit, and the button that exports them."""
    custom = record.custom
    if not custom:
        return [context("No custom images: the installer or a package restores every repository.")]
    noun = "image" if len(custom) == 1 else "images"
    blocks: list[Block] = [
        section(
            f"*{len(custom):,} custom {noun}*: tags that neither the installer nor a package restores, "
            "with the workloads that use them. The purge deletes them for good unless they are exported first."
        )
    ]
    chunks, rest = custom_listing(record)
    blocks.extend(section(c) for c in chunks)
    if rest:
        blocks.append(context(f"…and {rest:,} more; the file in the thread lists every one."))
    blocks.append(
        section(
            "Export them (`/regclean export`, or the button): one OCI image layout the restore pushes back "
            "with the same digests."
        )
    )
    blocks.append(export_button(record.id, len(custom)))
    return blocks


def custom_lines(record: PreflightRecord) -> list[str]:
    """`repo:tag  ← used by ns/a, ns/b` for each custom tag (`unused` when no workload uses it)."""
    return [
        f"{tag}  ← " + (", ".join(users) if (users := record.custom_workloads.get(tag)) else "unused")
        for tag in record.custom
    ]


def custom_listing(record: PreflightRecord) -> tuple[list[str], int]:
    """The code blocks of custom tags that fit a message, and how many tags are left out; a tag's
    line that is wider than a phone shows goes on under it (`wrap()`)."""
    return capped_entries((wrap(line, rest="    ") for line in custom_lines(record)), CUSTOM_SECTIONS)


def _button(action_id: str, record_id: int, label: str, title: str, warning: str) -> Block:
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": action_id,
                "value": str(record_id),
                "text": {"type": "plain_text", "text": label},
                "confirm": {
                    "title": {"type": "plain_text", "text": title},
                    "text": {"type": "mrkdwn", "text": warning},
                    "confirm": {"type": "plain_text", "text": "Acknowledge"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            }
        ],
    }


def preflight_text(report: PreflightReport) -> str:
    """The notification text of the report."""
    if report.failed:
        return f"Preflight: {len(report.failed)} of {len(report.gates)} gates do not hold"
    return f"Preflight: all {len(report.gates)} gates hold"
