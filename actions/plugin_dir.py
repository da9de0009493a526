"""The plugin packages on the installer node, listed over SSH (gate 3)."""

from __future__ import annotations

from actions.errors import RemoteCommandFailed
from actions.ssh import SshTarget, connect

# Names only, one per line: `find -printf` never mangles odd names as `ls` can, and a missing
# directory is told apart from an empty one by the exit status.
LIST_PACKAGES = r"""
set -u
dir="$1"
if [ ! -d "$dir" ]; then echo "no such directory: $dir" >&2; exit 3; fi
find "$dir" -mindepth 1 -maxdepth 1 \( -type f -o -type l \) -name '*.tgz' -printf '%f\n' | LC_ALL=C sort
"""


async def list_packages(target: SshTarget, directory: str) -> tuple[str, ...]:
    """Every `*.tgz` file name in `directory` on the node, sorted."""
    async with connect(target) as session:
        result = await session.run_script(LIST_PACKAGES, [directory])
    if result.exit_status == 3:
        raise RemoteCommandFailed(
            f"{target.address}: the plugin directory {directory} does not exist. "
            "Set REGCLEAN_PLUGIN_DIR (or REGCLEAN_INSTALLER_DIR) to where the packages are."
        )
    if result.exit_status != 0:
        tail = "; ".join(result.stderr_tail[-3:]) or f"exit status {result.exit_status}"
        raise RemoteCommandFailed(f"{target.address}: listing {directory} failed: {tail}.")
    return tuple(line for line in result.stdout.splitlines() if line)
