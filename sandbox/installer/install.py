"""Writing the installer onto the installer node: `res/` (the `upload.sh` stand-in, its image lists
and the core images' OCI layouts), `plugins/` (the packages, each with its verification file) and
the `violet` stand-in; and the fault switches of the installer and the packages."""

from __future__ import annotations

import hashlib
import shlex
import shutil
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import yaml

from . import violet, violet_read
from .layouts import InstallerImages, write_layout
from .packages import BUNDLE, PackageSpec, package_bytes

UPLOAD_SCRIPT = Path(__file__).with_name("upload.sh")
VIOLET_SCRIPT = Path(violet.__file__)
FAIL_AFTER = "res/.fail-after"
"""`upload.sh`'s fault switch, relative to the installer directory: a number of images."""


def write_installer(installer_dir: Path, images: InstallerImages, specs: Iterable[PackageSpec]) -> list[str]:
    """Write `res/` and `plugins/` under `installer_dir`; returns the package file names.

    Each package gets the verification file it ships with: a GPG signature (`.sig`) for an
    operator's bundle, a checksum (`.sha256`) for the others."""
    res = installer_dir / "res"
    res.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(UPLOAD_SCRIPT, res / "upload.sh")
    (res / "upload.sh").chmod(0o755)
    for mode, refs in (("all", images.core), ("necessary", images.necessary)):
        (res / f"{mode}-images.txt").write_text("".join(f"{ref}\n" for ref in refs))
    for ref in images.core:
        repo, _, tag = ref.rpartition(":")
        write_layout(res / "images" / repo / tag, ref)
    plugins = installer_dir / "plugins"
    plugins.mkdir(parents=True, exist_ok=True)
    return sorted(add_package(plugins, spec) for spec in specs)


def add_package(plugin_dir: Path, spec: PackageSpec) -> str:
    """Put a package and its verification file in the plugin directory; returns its file name."""
    data = package_bytes(spec)
    (plugin_dir / spec.file).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    if spec.type == BUNDLE:
        (plugin_dir / f"{spec.file}.sig").write_text(f"{violet_read.SIGNATURE}{digest}\n")
    else:
        (plugin_dir / f"{spec.file}.sha256").write_text(f"{digest}  {spec.file}\n")
    return spec.file


def install_violet(bin_dir: Path, config: Path) -> Path:
    """Write `bin_dir/violet` (mode 0755), a shell wrapper running the stand-in with this Python,
    reading the platform's stand-in answer from `config` (see `violet.write_config`).

    The real violet is a Go binary that starts in milliseconds, and a preflight runs `violet show`
    once per package. So the stand-in's Python starts isolated and without `site` (`-I -S`: the
    environment's settings, `.pth` files and the editable install's import hooks cost each start
    more than the stand-in's own work), with only its own directory and PyYAML's on its path."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "violet"
    search = [str(VIOLET_SCRIPT.parent), str(Path(yaml.__file__).parents[1])]
    start = f"import sys; sys.path[:0] = {search!r}; import violet; sys.exit(violet.main(sys.argv[1:]))"
    path.write_text(
        "#!/bin/sh\n"
        "# The sandbox's stand-in for the vendor's violet (sandbox/installer/violet.py).\n"
        f"{violet.CONFIG_VARIABLE}={shlex.quote(str(config))}; export {violet.CONFIG_VARIABLE}\n"
        f'exec {shlex.quote(sys.executable)} -I -S -c {shlex.quote(start)} "$@"\n'
    )
    path.chmod(0o755)
    return path


def fail_upload_after(installer_dir: Path, images: int | None) -> None:
    """Make `res/upload.sh` exit 1 after pushing this many images (`None`: push everything again)."""
    switch = installer_dir / FAIL_AFTER
    if images is None:
        switch.unlink(missing_ok=True)
    else:
        switch.write_text(f"{images}\n")


def fail_package(plugin_dir: Path, file: str, mode: Literal["once", "always"] | None) -> None:
    """Make `violet push` of the package fail once (the next push only) or always (`None`: never)."""
    switch = plugin_dir / f"{file}.fail"
    if mode is None:
        switch.unlink(missing_ok=True)
    else:
        switch.write_text(f"{mode}\n")


def break_verification(plugin_dir: Path, file: str, how: Literal["mismatch", "missing"]) -> None:
    """`violet verify` finds the package's checksum or signature wrong (`mismatch`), or none (`missing`)."""
    wrong = "0" * 64
    for suffix, content in ((".sig", f"{violet_read.SIGNATURE}{wrong}\n"), (".sha256", f"{wrong}  {file}\n")):
        found = plugin_dir / f"{file}{suffix}"
        if found.exists():
            if how == "missing":
                found.unlink()
            else:
                found.write_text(content)


def corrupt_package(plugin_dir: Path, file: str) -> None:
    """Cut the package short, as an interrupted copy leaves it: `violet show` and `push` refuse it."""
    package = plugin_dir / file
    package.write_bytes(package.read_bytes()[:100])
