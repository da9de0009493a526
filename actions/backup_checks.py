"""Judging an archive: what the scripts measured, parsed, and compared with the directory."""

from __future__ import annotations

from dataclasses import dataclass

from actions.backup_live import Change, Judgement, ObjectsChanged, judge
from actions.errors import BackupInconsistent, BackupNotVerified, NotEnoughSpace, RemoteCommandFailed

BLOCK = 512
BLOCKING_FACTOR = 128
"""Blocks per tar record. The runbook's tar uses GNU tar's default, 20 (10 KiB records);
64 KiB records halve tar's system calls and time, and any tar reads the archive the same."""
RECORD = BLOCKING_FACTOR * BLOCK


@dataclass(frozen=True)
class Census:
    """A directory as `find` sees it."""

    entries: int
    """Everything below and including the top directory."""
    bytes: int
    """The sum of the regular files' sizes."""
    files: int
    data_blocks: int
    """The regular files' sizes, each rounded up to 512 bytes (their room in a tar archive)."""

    @property
    def archive_estimate(self) -> int:
        """The smallest archive that can hold this directory."""
        return _round_up(self.entries * BLOCK + self.data_blocks + 2 * BLOCK, RECORD)


@dataclass(frozen=True)
class Listing:
    """An archive as `tar --list --verbose` reads it back."""

    entries: int
    bytes: int
    data_blocks: int
    long_names: int
    """An upper bound of the bytes of GNU long-name headers."""


@dataclass(frozen=True)
class Split:
    """Entries and file bytes of one part of the MinIO directory."""

    entries: int
    bytes: int


@dataclass(frozen=True)
class Measured:
    """What the archive script reported."""

    sha256: str | None
    tar_status: int
    digest_status: int
    listing: Listing | None
    list_status: int | None
    size: int | None
    objects: Split | None = None
    """The object data (everything outside MinIO's bookkeeping) just before tar read it."""
    bookkeeping: Split | None = None
    """MinIO's bookkeeping just before tar read it (it may differ in the archive)."""
    listed_objects: Split | None = None
    """The object data the archive holds."""
    moved: tuple[str, ...] = ()
    """Object entries that differ after tar from before (at most 20 named)."""
    moved_count: int = 0


def tagged(stdout: str) -> dict[str, list[str]]:
    """`TAG value…` lines of a script's output, by tag (the last line of a tag wins)."""
    found: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        words = line.split()
        if words and words[0].isupper():
            found[words[0]] = words[1:]
    return found


def parse_census(stdout: str) -> tuple[Census, int]:
    """The census and the free bytes in the backup directory."""
    tags = tagged(stdout)
    try:
        n, b, f, d = (int(x) for x in tags["CENSUS"])
        free = int(tags["FREE"][0])
    except (KeyError, ValueError, IndexError):
        raise RemoteCommandFailed(
            f"the census of the MinIO directory printed nothing usable: {stdout[-300:]!r}"
        ) from None
    return Census(n, b, f, d), free


def parse_archive(stdout: str, census: str) -> Measured:
    """What the archive script measured, with the object manifest's counts from the census's
    output; missing parts are None."""
    tags, counted = tagged(stdout), tagged(census)
    sha = next((w for line in stdout.splitlines() for w in line.split()[:1] if _is_sha256(w)), None)
    tar_status = int(tags.get("TAR", ["255"])[0])
    digest_status = int(tags.get("DIGEST", ["255"])[0])
    listed = tags.get("LISTED")
    listing = Listing(*(int(x) for x in listed)) if listed and len(listed) == 4 else None
    list_status = int(tags["LISTPIPE"][0]) if "LISTPIPE" in tags else None
    size = int(tags["SIZE"][0]) if "SIZE" in tags else None
    moved = tuple(line[len("MOVEDPATH ") :] for line in stdout.splitlines() if line.startswith("MOVEDPATH "))
    return Measured(
        sha,
        tar_status,
        digest_status,
        listing,
        list_status,
        size,
        objects=_split(counted.get("OBJECTS")),
        bookkeeping=_split(counted.get("BOOKKEEPING")),
        listed_objects=_split(tags.get("LISTOBJ")),
        moved=moved,
        moved_count=int(tags.get("MOVED", ["0"])[0]),
    )


def check_space(census: Census, free: int, margin_percent: float, where: str) -> None:
    """Refuse when the backup directory cannot hold the archive plus the margin."""
    need = int(census.archive_estimate * (1 + margin_percent / 100))
    if free < need:
        raise NotEnoughSpace(
            f"{where} has {_size(free)} free; the archive needs {_size(census.archive_estimate)} plus "
            f"{margin_percent:g}% margin = {_size(need)}. Free {_size(need - free)} or choose another "
            "REGCLEAN_BACKUP_DIR."
        )


def check_written(measured: Measured, stderr_tail: tuple[str, ...]) -> None:
    """Raise unless tar and the digest succeeded and the archive reads back.

    GNU tar's exit 1 means only that files changed while it read them; `check_live` judges those.
    """
    detail = "; ".join(
        line for line in stderr_tail if "REGCLEAN-PROGRESS" not in line and "leading" not in line
    )
    if measured.tar_status not in (0, 1) and ("No space left" in detail or "Wrote only" in detail):
        raise RemoteCommandFailed(
            f"writing the archive failed: the disk filled up (tar exit {measured.tar_status}): {detail}"
        )
    if measured.tar_status not in (0, 1):
        raise RemoteCommandFailed(f"tar failed (exit {measured.tar_status}): {detail or 'no message'}")
    if measured.digest_status != 0 or measured.sha256 is None:
        raise RemoteCommandFailed(
            f"computing the sha256 failed (exit {measured.digest_status}): {detail or 'no message'}"
        )
    if measured.listing is None or measured.list_status != 0 or measured.size is None:
        raise BackupNotVerified(
            f"the archive could not be read back (tar --list exit {measured.list_status})"
        )


def check_live(measured: Measured, changes: tuple[Change, ...], unparsed: tuple[str, ...]) -> Judgement:
    """What changed while tar read the directory; raise if any of it is object data.

    `changes` are the paths tar reported, `measured.moved` the object entries whose name, size,
    inode or ctime differ after tar from before: object data must show in neither.
    """
    if measured.objects is None or measured.listed_objects is None:
        raise BackupNotVerified("the archive script printed no object manifest")
    moved = tuple(f"{path} (differs after the archive)" for path in measured.moved)
    verdict = judge(changes, moved)
    if verdict.objects:
        more = max(measured.moved_count - len(measured.moved), 0) + max(len(verdict.objects) - 5, 0)
        named = ", ".join(verdict.objects[:5]) + (f" and {more} more" if more else "")
        raise ObjectsChanged(
            f"object data changed while it was archived: {named}. An archive of changing objects is not "
            "a valid backup; is something writing to the registry (a push, a garbage collection)?",
            verdict.objects,
        )
    if measured.tar_status == 1 and not changes:
        reason = "; ".join(unparsed[-3:]) or "no message"
        raise BackupInconsistent(
            f"GNU tar exit 1 without naming what changed: {reason}. Run the backup again."
        )
    return verdict


def check_matches(measured: Measured) -> None:
    """Raise unless the archive holds exactly the object data as found just before tar read it.

    MinIO's bookkeeping may differ (the scanner rewrites it); object data may not, to the entry
    and the byte. What changes after tar read it is not in this backup, as with any backup of a
    live directory.
    """
    listing, objects, listed = measured.listing, measured.objects, measured.listed_objects
    assert listing is not None and measured.size is not None  # check_written passed
    assert objects is not None and listed is not None  # check_live passed
    if listed != objects:
        raise BackupNotVerified(
            f"the archive lists {listed.entries} object entries and {listed.bytes} bytes; the directory had "
            f"{objects.entries} entries and {objects.bytes} bytes of object data just before. Did something "
            "write to it? Run the backup again."
        )
    low = listing.entries * BLOCK + listing.data_blocks + 2 * BLOCK
    high = _round_up(low + listing.long_names, RECORD)
    if not (low <= measured.size <= high and measured.size % BLOCK == 0):
        raise BackupNotVerified(
            f"the archive is {measured.size} bytes; for its entries it should be between {low} and {high}."
        )


def _split(words: list[str] | None) -> Split | None:
    return Split(int(words[0]), int(words[1])) if words and len(words) == 2 else None


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def _is_sha256(word: str) -> bool:
    return len(word) == 64 and all(c in "0123456789abcdef" for c in word)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    return f"{n} B"
