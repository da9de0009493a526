"""The STAND-IN violet's commands that only read packages: `violet show` and `violet verify`
(see `violet.py`; Alauda's documentation, "Upload Packages", shows both outputs).

    violet show PKG [--all]     Name, Type, Arch, Version; with --all also Artifact and RelateImages
    violet verify PKG|DIR       each package against the `.sig` (GPG) or checksum file next to it

`show` prints the documented format exactly, including its quirk that `--all` prints `Arch: []`.
`verify` prints the documented summary; the documentation does not say which categories are
printed when empty nor what the exit status is, so this stand-in prints all four and exits 1
(with `Error: …` on stderr) when any file failed. GPG is simulated: a `.sig` verifies when it is
`sandbox-gpg-signature sha256:<the package's sha256>`; a checksum file is `PKG.sha256` in
`sha256sum`'s format. It is imported by `violet.py` as a sibling script module.
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

import yaml

MANIFEST = "package.yaml"
SIGNATURE = "sandbox-gpg-signature sha256:"


class ReadFailure(Exception):
    """Ends the command with `Error: MESSAGE` on stderr and exit status 1."""


def read_manifest(package: Path) -> dict[str, Any]:
    """The package's `package.yaml`, read without unpacking the rest (it comes first)."""
    if not package.is_file():
        raise ReadFailure(f"open {package}: no such file or directory")
    try:
        with tarfile.open(package, "r:gz") as tar:
            member = tar.next()
            while member is not None and member.name != MANIFEST:
                member = tar.next()
            data = tar.extractfile(member).read() if member is not None else None  # type: ignore[union-attr]
        if data is None:
            raise ReadFailure(f"invalid package {package.name}: {MANIFEST} not found")
        manifest = yaml.load(data, Loader=yaml.CSafeLoader)
    except (OSError, tarfile.TarError, EOFError, yaml.YAMLError) as exc:
        raise ReadFailure(f"invalid package {package.name}: {_reason(exc)}") from None
    if not isinstance(manifest, dict):
        raise ReadFailure(f"invalid package {package.name}: {MANIFEST} is not a mapping")
    return manifest


def show(package: Path, everything: bool) -> str:
    """`violet show` output for one package."""
    manifest = read_manifest(package)
    arch = [] if everything else manifest.get("arch") or []
    lines = [
        f"Name: {manifest.get('name', '')}",
        f"Type: {manifest.get('type', '')}",
        f"Arch: [{' '.join(arch)}]",
        f"Version: {manifest.get('version', '')}",
    ]
    if everything:
        lines.append(f"Artifact: {manifest.get('artifact', '')}")
        lines.append(f"RelateImages: [{' '.join(manifest.get('relateImages') or [])}]")
    return "\n".join(lines) + "\n"


class Summary:
    """How each package verified. (A plain class: the stand-in starts for every `violet` command,
    and importing `dataclasses` would cost each start more than the rest of its imports.)"""

    def __init__(self) -> None:
        self.gpg: list[Path] = []
        self.checksum: list[Path] = []
        self.failed: list[Path] = []
        self.missing: list[Path] = []

    def render(self, path: Path) -> str:
        """The documented summary."""
        parts = [f"verify path: {path}", "====== Verification Summary ======"]
        for title, files in (
            ("Verified successfully with GPG", self.gpg),
            ("Verified successfully with checksum", self.checksum),
            ("Verification failed", self.failed),
            ("No verification file found", self.missing),
        ):
            parts.append(f"{title}: {len(files)} file(s)")
            parts.extend(f"  - {file}" for file in files)
            parts.append("")
        return "\n".join(parts)


def verify(path: Path) -> Summary:
    """Check one package, or every `.tgz` in a directory, against its verification file."""
    path = path.absolute()
    if path.is_dir():
        packages = sorted(p for p in path.iterdir() if p.name.endswith(".tgz") and p.is_file())
    elif path.is_file():
        packages = [path]
    else:
        raise ReadFailure(f"stat {path}: no such file or directory")
    summary = Summary()
    for package in packages:
        signature, checksum = (
            package.with_name(package.name + ".sig"),
            package.with_name(package.name + ".sha256"),
        )
        if signature.is_file():
            good = signature.read_text().strip() == SIGNATURE + _sha256(package)
            (summary.gpg if good else summary.failed).append(package)
        elif checksum.is_file():
            words = checksum.read_text().split()
            (summary.checksum if words[:1] == [_sha256(package)] else summary.failed).append(package)
        else:
            summary.missing.append(package)
    return summary


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, tarfile.ReadError | EOFError):
        return "gzip: invalid header"
    return str(exc) or type(exc).__name__
