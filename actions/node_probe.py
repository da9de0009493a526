"""Read-only probes of a node over SSH for `regclean doctor`: what the backup and the restore will
need there, checked without writing a byte.

The backup's own census (`actions/backup_scripts.py` CENSUS) creates the backup directory and
removes stale partial files; these scripts only read: `test`, `command -v`, `find` and `df`.
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.backup_checks import Census, parse_census
from actions.backup_live import EXCLUDED
from actions.ssh import SshTarget, connect

#: args: MINIO_DIR BACKUP_DIR EXCLUDED… — prints TOOLS [MISSING …], MINIO readable|unreadable|missing,
#: UNREADABLE <entries find could not read>, BACKUPDIR <the existing directory df measured>,
#: CENSUS <entries> <file bytes> <files> <file data blocks> (as the backup's census counts), FREE <bytes>
NODE_PROBE = r"""
set -u
export LC_ALL=C
minio=${1%/} backup=$2
shift 2
missing=""
for tool in tar find df awk; do command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"; done
echo "TOOLS${missing:+ MISSING$missing}"
if [ ! -d "$minio" ]; then echo "MINIO missing"; exit 0; fi
if [ -r "$minio" ] && [ -x "$minio" ]; then echo "MINIO readable"; else echo "MINIO unreadable"; fi
esc=$(printf '%s' "$minio" | sed 's/[][*?\\]/\\&/g')
prune=()
for x in "$@"; do prune+=(-o -path "$esc/$x"); done
exec 3>&1
errors=$( { find "$minio" -mindepth 1 \( -false "${prune[@]}" \) -prune -o -printf '%y %s\n' 2>&4 |
  awk '{ n++; if ($1 == "f") { b += $2; f++; d += int(($2 + 511) / 512) * 512 } }
       END { printf "CENSUS %.0f %.0f %.0f %.0f\n", n + 1, b, f, d }' >&3; } 4>&1 | wc -l )
echo "UNREADABLE $errors"
probe=$backup
while [ ! -d "$probe" ] && [ "$probe" != / ] && [ -n "$probe" ]; do probe=$(dirname -- "$probe"); done
echo "BACKUPDIR $probe"
echo "FREE $(df -P -B1 -- "$probe" 2>/dev/null | awk 'NR == 2 { print $4 }')"
"""

#: args: INSTALLER_DIR PLUGIN_DIR VIOLET — prints UPLOAD present|missing|not-executable, VIOLET <path>|missing,
#: PLUGINS <count of *.tgz>|missing
INSTALLER_PROBE = r"""
set -u
upload="${1%/}/res/upload.sh" dir=$2 violet=$3
if [ ! -e "$upload" ]; then echo "UPLOAD missing"; elif [ -r "$upload" ]; then echo "UPLOAD present"; else echo "UPLOAD unreadable"; fi
if path=$(command -v -- "$violet" 2>/dev/null); then echo "VIOLET $path"; else echo "VIOLET missing"; fi
if [ -d "$dir" ]; then
  echo "PLUGINS $(find "$dir" -mindepth 1 -maxdepth 1 \( -type f -o -type l \) -name '*.tgz' | wc -l)"
else echo "PLUGINS missing"; fi
"""


@dataclass(frozen=True)
class NodeProbe:
    """What a node showed."""

    missing_tools: tuple[str, ...]
    minio: str
    """`readable`, `unreadable` or `missing`."""
    unreadable: int
    """Entries below the MinIO directory that `find` could not read."""
    census: Census | None
    free: int | None
    measured_dir: str | None
    """The directory whose file system `df` measured: the backup directory or its nearest existing parent."""


@dataclass(frozen=True)
class InstallerProbe:
    """What the installer node showed."""

    upload: str
    """`present`, `missing` or `unreadable`."""
    violet: str | None
    """violet's path on the node's PATH, or None."""
    packages: int | None
    """`*.tgz` files in the plugin directory; None when it does not exist."""


async def probe_node(target: SshTarget, minio_dir: str, backup_dir: str) -> NodeProbe:
    """Connect (the host key verified) and run NODE_PROBE; raises the SSH errors of `actions.ssh`."""
    async with connect(target) as session:
        result = await session.run_script(NODE_PROBE, [minio_dir, backup_dir, *(p for p, _ in EXCLUDED)])
    tags = _tags(result.stdout)
    tools = tags.get("TOOLS", [])
    census: Census | None = None
    free: int | None = None
    if "CENSUS" in tags and tags.get("FREE"):
        census, free = parse_census(result.stdout)
    return NodeProbe(
        tuple(tools[1:]) if tools[:1] == ["MISSING"] else (),
        (tags.get("MINIO") or ["missing"])[0],
        int((tags.get("UNREADABLE") or ["0"])[0]),
        census,
        free,
        " ".join(tags["BACKUPDIR"]) if "BACKUPDIR" in tags else None,
    )


async def probe_installer(
    target: SshTarget, installer_dir: str, plugin_dir: str, violet: str = "violet"
) -> InstallerProbe:
    """Connect and run INSTALLER_PROBE."""
    async with connect(target) as session:
        result = await session.run_script(INSTALLER_PROBE, [installer_dir, plugin_dir, violet])
    tags = _tags(result.stdout)
    violet_at = " ".join(tags.get("VIOLET", ["missing"]))
    plugins = (tags.get("PLUGINS") or ["missing"])[0]
    return InstallerProbe(
        (tags.get("UPLOAD") or ["missing"])[0],
        None if violet_at == "missing" else violet_at,
        int(plugins) if plugins.isdigit() else None,
    )


def _tags(stdout: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        word, *rest = line.split() or [""]
        if word.isupper():
            out[word] = rest
    return out
