"""Writing the installer onto the installer node: `res/` (the `upload.sh` stand-in, its image lists
and the core images' OCI layouts), `plugins/` (the packages) and the `violet` stand-in."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path
from typing import Literal

from . import violet
from .layouts import InstallerImages, write_layout
from .packages import package_bytes

UPLOAD_SCRIPT = Path(__file__).with_name("upload.sh")
VIOLET_SCRIPT = Path(violet.__file__)
FAIL_AFTER = "res/.fail-after"
"""`upload.sh`'s fault switch, relative to the installer directory: a number of images."""


def write_installer(installer_dir: Path, images: InstallerImages) -> list[str]:
    """Write `res/` and `plugins/` under `installer_dir`; returns the package file names."""
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
    for file, refs in images.packages.items():
        (plugins / file).write_bytes(package_bytes(file, refs))
    return list(images.packages)


def install_violet(bin_dir: Path, config: Path) -> Path:
    """Write `bin_dir/violet` (mode 0755), a shell wrapper running the stand-in with this Python,
    reading the platform's stand-in answer from `config` (see `violet.write_config`)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    path = bin_dir / "violet"
    path.write_text(
        "#!/bin/sh\n"
        "# The sandbox's stand-in for the vendor's violet (sandbox/installer/violet.py).\n"
        f"{violet.CONFIG_VARIABLE}={shlex.quote(str(config))}; export {violet.CONFIG_VARIABLE}\n"
        f'exec {shlex.quote(sys.executable)} -I {shlex.quote(str(VIOLET_SCRIPT))} "$@"\n'
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
