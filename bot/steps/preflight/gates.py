"""The gates in front of the purge, each judged from what the run has stored (docs/architecture.md,
"Gates and the plan").

Every gate says whether it holds, what it found, and — when it does not hold — what would
satisfy it. The preflight posts them; the purge checks them again before it starts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from actions.backup import NodeBackup
from actions.packages import Coverage
from bot.core.model import Said, SnapshotView
from bot.steps.export.model import CustomImages, ExportedTag, Waiver

if TYPE_CHECKING:  # purge_model's reports hold Gates
    from bot.steps.preflight.model import PreflightRecord


@dataclass(frozen=True)
class Gate:
    """One gate's verdict."""

    key: str
    title: str
    passed: bool
    detail: str
    """What was found."""
    remedy: str | None = None
    """What would satisfy the gate, when it does not hold."""
    said: Said | None = None
    """`detail` with its people and times as placeholders, for Slack to render (None: `detail` has
    neither)."""


def detail_of(text: str, people: Sequence[str] = (), times: Sequence[datetime] = ()) -> tuple[str, Said]:
    """A gate's detail for the terminal (people by ID, as the CLI shows them, times in UTC), and as a
    `Said` for Slack: `text` has `{0}`… for `people`, then for `times`, and its literal braces doubled."""
    said = Said(text, tuple(people), tuple(times))
    return said.render(str), said


def braces(text: str) -> str:
    """Text from outside (a file name) made safe for a `Said`'s text: its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


def inventory_gate(snapshot: SnapshotView | None, now: datetime, max_age: timedelta) -> Gate:
    """1. Operators and plugins recorded in this run, less than `max_age` ago."""
    title = "Operators and plugins recorded"
    if snapshot is None:
        return Gate("inventory", title, False, "No inventory in this run.", "Run `/regclean inventory`.")
    age = now - snapshot.recorded_at
    text = f"Snapshot #{snapshot.id}, recorded {_ago(age)} by {{0}}."
    if age > max_age:
        detail, said = detail_of(text + f" That is older than {_span(max_age)}.", (snapshot.recorded_by,))
        return Gate("inventory", title, False, detail, "Record it again with `/regclean inventory`.", said)
    detail, said = detail_of(text, (snapshot.recorded_by,))
    return Gate("inventory", title, True, detail, said=said)


def backup_gate(backups: Sequence[NodeBackup], snapshot: SnapshotView | None, expected_nodes: int) -> Gate:
    """2. A verified backup from every control-plane node, taken after that recording."""
    title = "Verified backup of every control-plane node"
    remedy = "Run `/regclean backup`."
    if not backups:
        return Gate("backup", title, False, "No backup in this run.", remedy)
    missing = [f"{b.address} ({b.problem or 'not verified'})" for b in backups if not b.verified]
    if missing:
        return Gate("backup", title, False, "Not verified: " + "; ".join(missing) + ".", remedy)
    if len(backups) != expected_nodes:
        return Gate(
            "backup",
            title,
            False,
            f"{len(backups)} nodes were backed up; {expected_nodes} are expected.",
            remedy,
        )
    if snapshot is not None and min(b.finished_at for b in backups) < snapshot.recorded_at:
        return Gate(
            "backup",
            title,
            False,
            f"The backup is older than inventory snapshot #{snapshot.id}.",
            "Back up again after the inventory: `/regclean backup`.",
        )
    return Gate("backup", title, True, f"{len(backups)} of {expected_nodes} nodes verified, sha256 recorded.")


def package_gate(result: Coverage | None) -> Gate:
    """3. Every operator and plugin recorded as installed has its package, by what `violet show` shows."""
    title = "A package for every installed operator and plugin"
    if result is None:
        return Gate(
            "packages", title, False, "The plugin directory was not read yet.", "Run `/regclean preflight`."
        )
    if result.complete:
        return Gate("packages", title, True, f"{len(result.packages)} packages cover everything installed.")
    problems = [f"violet cannot show {s.file} ({s.error})" for s in result.unshowable[:10]]
    problems += [f"no package for {u.kind} {u.what}: needs {u.wanted}" for u in result.uncovered[:20]]
    hidden = max(0, len(result.unshowable) - 10) + max(0, len(result.uncovered) - 20)
    more = f" …and {hidden} more" if hidden else ""
    return Gate(
        "packages",
        title,
        False,
        "; ".join(problems) + more + ".",
        "Put the missing packages in the plugin directory and replace those violet cannot show "
        "(matched by what `violet show --all` prints: Artifact and Version), then run the preflight again.",
    )


def verification_gate(record: PreflightRecord | None) -> Gate:
    """4. `violet verify` vouches for every package: none failed, and any without a verification file
    was acknowledged by an approver."""
    title = "Packages verified (signature or checksum)"
    verification = None if record is None else record.verification
    if verification is None:
        return Gate(
            "verify", title, False, "The packages were not verified yet.", "Run `/regclean preflight`."
        )
    if verification.error is not None:
        return Gate(
            "verify",
            title,
            False,
            f"violet verify gave no summary: {verification.error}",
            "Run `/regclean preflight` again.",
        )
    good = len(verification.gpg) + len(verification.checksum)
    found = f"{good} verified ({len(verification.gpg)} GPG, {len(verification.checksum)} checksum)."
    if verification.failed:
        return Gate(
            "verify",
            title,
            False,
            found + " Verification failed: " + _names(verification.failed) + ".",
            "Replace these packages with intact copies (and their .sig or checksum file), then run the preflight again.",
        )
    if not verification.missing:
        return Gate("verify", title, True, found)
    missing = f" No verification file: {_names(verification.missing)}."
    if record is None or record.verify_ack_by is None:
        return Gate(
            "verify",
            title,
            False,
            found + missing,
            "Add their .sig or checksum files, or an approver presses *Acknowledge unverified packages* "
            "on the preflight message.",
        )
    detail, said = detail_of(braces(found + missing) + " Acknowledged by {0}.", (record.verify_ack_by,))
    return Gate("verify", title, True, detail, said=said)


def _names(files: tuple[str, ...], limit: int = 10) -> str:
    more = f" …and {len(files) - limit} more" if len(files) > limit else ""
    return ", ".join(files[:limit]) + more


def _span(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _ago(delta: timedelta) -> str:
    return f"{_span(delta)} ago"


def registry_gate(record: PreflightRecord | None, images: CustomImages | None = None) -> Gate:
    """5. The registry's repositories and tags recorded, its blob cache clearable, and every custom
    image exported and verified, or waived by an approver (docs/architecture.md, "Custom images")."""
    title = "Registry recorded, its cache clearable, custom images exported"
    if record is None:
        return Gate(
            "registry", title, False, "The registry was not recorded yet.", "Run `/regclean preflight`."
        )
    found = f"{len(record.repositories)} repositories and {record.tag_count} tags recorded from {record.registry}."
    cache = record.registry_cache
    if cache is None:
        return Gate(
            "registry",
            title,
            False,
            found + " How the registry's cache will be cleared was not read (a preflight from before that).",
            "Run `/regclean preflight` again.",
        )
    if cache.method == "cannot":
        # A cache regclean cannot clear lets a re-push "succeed" with images that do not pull.
        return Gate(
            "registry",
            title,
            False,
            found + f" The registry's blob cache cannot be cleared: {cache.reason}",
            "Fix what the reason names, then run `/regclean preflight` again.",
        )
    found += f" {cache.describe()[0].upper()}{cache.describe()[1:]}."
    if not record.custom:
        return Gate("registry", title, True, found + " No custom images.")
    exports = images.exports if images is not None else {}
    waivers = images.waivers if images is not None else {}
    waived = [t for t in record.custom if t in waivers]
    exported = [t for t in record.custom if t not in waivers and (e := exports.get(t)) is not None and e.ok]
    missing = [t for t in record.custom if t not in waivers and t not in exported]
    held = _custom_held(exported, waived, exports, waivers)
    if missing:
        problems = [
            f"{t}: {e.problem}" if (e := exports.get(t)) is not None and e.problem else f"{t}: not exported"
            for t in missing
        ]
        return Gate(
            "registry",
            title,
            False,
            found
            + f" {len(missing)} of {len(record.custom)} custom images are neither exported nor waived: "
            + _names(tuple(problems), 5)
            + "."
            + (f" {held}" if held else ""),
            "Export them with `/regclean export` (the button on the preflight message), or an approver "
            "waives each image the purge may delete for good: `/regclean waive REPO:TAG…`.",
        )
    return Gate("registry", title, True, found + f" {held}")


def _custom_held(
    exported: list[str], waived: list[str], exports: Mapping[str, ExportedTag], waivers: Mapping[str, Waiver]
) -> str:
    """`2 custom images exported and verified (at …); 1 waived: a (by U1).`"""
    parts = []
    if exported:
        where = ", ".join(sorted({exports[t].location for t in exported}))
        parts.append(f"{len(exported)} custom images exported and verified (at {where})")
    if waived:
        parts.append(
            f"{len(waived)} waived: " + _names(tuple(f"{t} (by {waivers[t].approver})" for t in waived), 5)
        )
    return ("; ".join(parts) + ".") if parts else ""
