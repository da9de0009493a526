"""Block Kit for the purge's result: the bucket before and after, and the registry's restart."""

from __future__ import annotations

from actions.minio import PurgeResult
from bot.core.model import RunView, StepView
from handlers.blocks.backup import size
from handlers.blocks.run import named, slack_date
from handlers.blocks.tables import Block, and_list, context, header, inline, section, truncate


def _count(n: int | None) -> str:
    return "–" if n is None else f"{n:,}"


def purge_blocks(run: RunView, step: StepView, result: PurgeResult) -> list[Block]:
    """Pod, bucket, size and objects before and after, removed, empty, registry pods Ready, problem."""
    bucket = f"`{inline(result.bucket)}`"
    if result.empty:
        verdict = f":white_check_mark: The bucket {bucket} is empty."
    else:
        verdict = f":x: The bucket {bucket} is *not* empty."
    pods = and_list(f"`{inline(p)}`" for p in result.restarted[:20])
    if len(result.restarted) > 20:
        pods += f" …and {len(result.restarted) - 20} more"
    if result.registry_ready:
        registry = f":white_check_mark: Registry pods restarted and Ready: {pods or 'none'}."
    else:
        registry = f":x: The registry pods are *not* Ready{f' (Ready: {pods})' if pods else ''}."
    lines = [
        f"*MinIO pod* `{inline(result.pod)}` · *bucket* {bucket}",
        f"*Size* {size(result.bytes_before)} → {size(result.bytes_after)}",
        f"*Objects* {_count(result.objects_before)} → {_count(result.objects_after)} "
        f"({result.removed:,} removed)",
        f"*Empty* {'yes' if result.empty else 'no'}",
    ]
    blocks: list[Block] = [
        header(f"Purge of the registry bucket — run #{run.id}"),
        section(verdict),
        section("\n".join(lines)),
        section(registry),
    ]
    if result.problem:
        blocks.append(section(f":warning: {inline(truncate(result.problem, 2000))}"))
    blocks.append(context(f"Started by {named(step.requested_by)} at {slack_date(step.started_at)}"))
    return blocks


def purge_text(result: PurgeResult) -> str:
    """The notification text of the result."""
    state = "empty" if result.empty else "NOT empty"
    ready = "Ready" if result.registry_ready else "NOT Ready"
    return (
        f"Purge: bucket {inline(result.bucket)} {state}, {result.removed:,} objects removed; registry {ready}"
    )
