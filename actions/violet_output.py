"""What `violet show --all` and `violet verify` print, read into values (docs/architecture.md,
"Gates and the plan").

Both formats are Alauda's documented ones ("Upload Packages" in the ACP documentation). The
readers are tolerant: unknown lines are skipped, keys are matched without regard to case, and a
summary section may be missing or empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_KEY = re.compile(r"^(?P<key>[A-Za-z][A-Za-z ]*?)\s*:\s?(?P<value>.*)$")
_VERIFY_SECTIONS = {
    "verified successfully with gpg": "gpg",
    "verified successfully with checksum": "checksum",
    "verification failed": "failed",
    "no verification file found": "missing",
}
_SECTION = re.compile(r"^(?P<title>[A-Za-z][A-Za-z ]+?)\s*:\s*\d+\s*file\(s\)\s*$")


@dataclass(frozen=True)
class Shown:
    """One package file as `violet show --all` shows it, or violet's error when it cannot."""

    file: str
    name: str = ""
    """`Name:`, the display name; it may differ from the file and the module (`NativeStor`)."""
    type: str = ""
    """`Type:`, `bundle` for an operator."""
    version: str = ""
    artifact: str = ""
    """`Artifact:`, the bundle or chart image, with its registry host."""
    relate_images: tuple[str, ...] = ()
    """`RelateImages:`, the images it pushes besides the artifact, with their registry host."""
    error: str | None = None
    """violet's error (`Error: …`) when it could not show the package; nothing else is known then."""

    @property
    def images(self) -> tuple[str, ...]:
        """Everything `violet push` of this package pushes: artifact and related images."""
        return (self.artifact, *self.relate_images) if self.artifact else self.relate_images


@dataclass(frozen=True)
class Verification:
    """`violet verify DIR`'s summary, as package file names; or why there is none."""

    gpg: tuple[str, ...] = ()
    checksum: tuple[str, ...] = ()
    failed: tuple[str, ...] = ()
    """Files whose signature or checksum does not match: they must not be pushed."""
    missing: tuple[str, ...] = ()
    """Files with no `.sig` or checksum file next to them: nothing vouches for them."""
    error: str | None = None
    """Why no summary could be read (violet failed, or printed none)."""


def parse_show(file: str, text: str) -> Shown:
    """`Name: …` / `Type: …` / `Version: …` / `Artifact: …` / `RelateImages: [a b]` → Shown."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        match = _KEY.match(line.strip())
        if match:
            fields[match["key"].replace(" ", "").lower()] = match["value"].strip()
    return Shown(
        file=file,
        name=fields.get("name", ""),
        type=fields.get("type", ""),
        version=fields.get("version", ""),
        artifact=fields.get("artifact", ""),
        relate_images=_go_list(fields.get("relateimages", "")),
    )


def show_error(file: str, text: str, status: int) -> Shown:
    """A package violet could not show, with its `Error: …` line (or its last line, or its status)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    reason = (errors or lines or [f"violet show exited with status {status}"])[-1]
    return Shown(file=file, error=reason[:300])


def parse_verify(text: str, status: int) -> Verification:
    """The documented summary (`Verified successfully with GPG: 2 file(s)` then `  - PATH` lines)."""
    sections: dict[str, list[str]] = {key: [] for key in _VERIFY_SECTIONS.values()}
    current: str | None = None
    seen = False
    for raw in text.splitlines():
        line = raw.strip()
        header = _SECTION.match(line)
        if header:
            current = _VERIFY_SECTIONS.get(header["title"].lower())
            seen = seen or current is not None
        elif line.startswith("- ") and current is not None:
            sections[current].append(line[2:].strip().rsplit("/", 1)[-1])
        elif not line:
            current = None
    if not seen:
        errors = [line.strip() for line in text.splitlines() if line.strip().startswith("Error:")]
        why = errors[-1] if errors else f"violet verify printed no summary (exit status {status})"
        return Verification(error=why[:300])
    return Verification(
        gpg=tuple(sections["gpg"]),
        checksum=tuple(sections["checksum"]),
        failed=tuple(sections["failed"]),
        missing=tuple(sections["missing"]),
    )


def _go_list(value: str) -> tuple[str, ...]:
    """`[a b c]` (Go's `%v` of a slice) → (a, b, c); an elided `...` is dropped."""
    inner = value.strip().removeprefix("[").removesuffix("]")
    return tuple(word for word in inner.split() if word != "...")
