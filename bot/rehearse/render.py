"""The rehearsal as terminal text: what the purge deletes, the tags lost, the durations, GO or NO-GO."""

from __future__ import annotations

from bot.rehearse.model import Rehearsal
from bot.steps.inventory.render import align


def rehearsal_lines(r: Rehearsal) -> list[str]:
    """Sections separated by blank lines; the last line is GO or NO-GO with the number of blockers."""
    lines = ["WHAT THE PURGE WOULD DELETE", purge_line(r), ""]
    if r.inventory:
        lines += [f"Inventory: {r.inventory}.", ""]
    lines.append(f"TAGS THAT WOULD NOT COME BACK ({len(r.lost)})")
    rows = [(t.tag, ", ".join(t.workloads) or "no workload") for t in r.lost]
    lines += [*align(("TAG", "USED BY"), rows), ""] if rows else ["none", ""]
    lines.append(f"EXPECTED DURATIONS (from {r.durations_from})")
    times = [(d.name, span(d.seconds), d.source) for d in r.durations]
    lines += [*align(("STEP", "EXPECTED", "FROM"), times), f"total: {span(r.total_seconds)}", ""]
    if r.on_the_night:
        lines.append("NEEDED ON THE NIGHT")
        lines += [f"- {g.title}: {g.detail} {g.remedy or ''}".rstrip() for g in r.on_the_night]
        lines.append("")
    blockers = r.blockers
    if blockers:
        lines.append("NO-GO")
        lines += align(
            ("FROM", "WHAT", "DETAIL", "REMEDY"), [(b.source, b.name, b.detail, b.remedy) for b in blockers]
        )
        lines += ["", f"NO-GO: {len(blockers)} to fix first. Nothing was changed."]
    else:
        lines.append(
            "GO: every check passed and every gate that can be judged now holds. Nothing was changed."
        )
    return lines


def purge_line(r: Rehearsal) -> str:
    """The bucket's objects and bytes, or why they could not be measured."""
    b = r.bucket
    if b.problem:
        return f"bucket {b.bucket}: not measured ({b.problem})"
    versions = " (every version: the bucket is versioned)" if b.versioning in ("Enabled", "Suspended") else ""
    return f"bucket {b.bucket}: {b.objects or 0:,} objects, {b.bytes or 0:,} bytes{versions}, measured in pod {b.pod}"


def span(seconds: float) -> str:
    """A duration as `2 h 05 min`, `3 min 10 s` or `12 s`."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    if minutes:
        return f"{minutes} min {secs:02d} s"
    return f"{secs} s"
