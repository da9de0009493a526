"""Block Kit for the custom images (docs/architecture.md, "Custom images"): the export's and the
re-push's progress, one line per image, and the button the preflight offers to export them."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.model import RunView, StepView
from bot.steps.approval.plan import Plan
from bot.steps.close.report import FinalReport
from bot.steps.export.model import ImagesReport
from bot.steps.export.step import human_size
from handlers.blocks.run import named, slack_date
from handlers.blocks.tables import Block, capped_entries, context, header, inline, section, truncate, wrap

EXPORT = "regclean_export"
#: code blocks of image lines shown; the rest are counted
MAX_CHUNKS = 6
DOING = {"export": "Exporting", "push": "Pushing back"}
DONE = {"export": "exported and verified", "push": "pushed and pulled"}


def image_entry(report: ImagesReport, index: int) -> list[str]:
    """`✓ repo:tag  12.0 MiB` with its digest whole on the next line, or `✗ repo:tag` and the
    problem under it: lines within LINE columns."""
    outcome = report.done[index]
    if not outcome.ok:
        return [*wrap(f"✗ {outcome.tag}", rest="  "), *wrap(outcome.problem, first="  ")]
    image = outcome.image
    if image is None:
        return wrap(f"✓ {outcome.tag}", rest="  ")
    platforms = f", {image.manifests} platforms" if image.manifests > 1 else ""
    return [
        *wrap(f"✓ {outcome.tag}  {human_size(image.bytes)}{platforms}", rest="  "),
        *wrap(image.digest, first="  "),
    ]


def images_blocks(run: RunView, step: StepView, report: ImagesReport) -> list[Block]:
    """Where the export (or the re-push) stands: a line per finished image, then the verdict."""
    title = f"Custom images {DONE.get(report.action, report.action)} — run #{run.id}"
    blocks: list[Block] = [header(title)]
    if report.finished:
        icon = ":x:" if report.failed else ":white_check_mark:"
        blocks.append(section(f"{icon} {inline(report.verdict or '')}"))
    else:
        doing = DOING.get(report.action, report.action)
        blocks.append(
            section(
                f"{doing} {len(report.tags)} custom images… *{len(report.done)} of {len(report.tags)}* done."
            )
        )
    chunks, rest = capped_entries((image_entry(report, i) for i in range(len(report.done))), MAX_CHUNKS)
    blocks.extend(section(c) for c in chunks)
    if rest:
        blocks.append(context(f"…and {rest} more images."))
    blocks.append(
        context(
            f"`{inline(report.location)}` · started by {named(step.requested_by)} at {slack_date(step.started_at)}"
        )
    )
    return blocks


def images_text(report: ImagesReport) -> str:
    """The notification text."""
    if report.finished:
        return report.verdict or "Custom images: done"
    return f"Custom images: {len(report.done)} of {len(report.tags)} done"


def export_button(record_id: int, count: int) -> Block:
    """The preflight's offer: export the custom images now (`/regclean export`)."""
    noun = "image" if count == 1 else "images"
    return {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "action_id": EXPORT,
                "value": str(record_id),
                "style": "primary",
                "text": {"type": "plain_text", "text": f"Export {count:,} custom {noun}"},
            }
        ],
    }


def custom_plan_lines(
    plan: Plan, in_use: Mapping[str, tuple[str, ...]] | None = None, limit: int = 10
) -> list[str]:
    """The plan's exported tags with their digests and where, and its waived tags with who waived them,
    flagged where running workloads use them (`in_use`)."""
    custom = plan.custom_images
    if custom is None:
        return []
    lines = []
    if custom.exported:
        shown = ", ".join(f"`{inline(t)}` `{inline(d)}`" for t, d in custom.exported[:limit])
        more = f" …and {len(custom.exported) - limit} more" if len(custom.exported) > limit else ""
        lines.append(
            f"*Custom images exported* ({len(custom.exported)}, verified) to `{inline(custom.location or '')}`, "
            f"pushed back after the restore: {shown}{more}"
        )
    if custom.waived:
        shown = ", ".join(
            f"`{inline(t)}` by {named(b)}{_used(t, in_use or {})}" for t, b in custom.waived[:limit]
        )
        more = f" …and {len(custom.waived) - limit} more" if len(custom.waived) > limit else ""
        lines.append(
            f"*Custom images waived* ({len(custom.waived)}): the purge deletes them for good: {shown}{more}"
        )
    return lines


def _used(tag: str, in_use: Mapping[str, tuple[str, ...]]) -> str:
    """` (:warning: used by ns/a, ns/b)` when running workloads use the tag."""
    users = in_use.get(tag)
    if not users:
        return ""
    named = ", ".join(f"`{inline(w)}`" for w in users[:3]) + (
        f" and {len(users) - 3} more" if len(users) > 3 else ""
    )
    return f" (:warning: in use by {named})"


def custom_report_blocks(report: FinalReport) -> list[Block]:
    """The final report's custom images: pushed back and pulled, not back, waived (lost, with their workloads)."""
    custom = report.custom
    if custom is None or not (custom.pulled or custom.not_back or custom.waived):
        return []
    lines = [
        f"*Custom images*: *{len(custom.pulled)}* pushed back from the export and pulled (same digests)."
    ]
    if custom.pulled:
        lines.append(
            ", ".join(f"`{inline(t)}`" for t in custom.pulled[:20])
            + (" …" if len(custom.pulled) > 20 else "")
        )
    if custom.not_back:
        lines.append(
            f":x: *Not back ({len(custom.not_back)}):* " + "; ".join(inline(t) for t in custom.not_back[:10])
        )
    if custom.waived:
        lines.append(
            f":wastebasket: *Waived, lost for good ({len(custom.waived)}):* "
            + "; ".join(inline(t) for t in custom.waived[:10])
        )
    return [section(truncate("\n".join(lines), 3000))]
