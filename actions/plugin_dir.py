"""The plugin packages on the installer node as violet sees them, read over SSH in one round trip
(gates 3 and 4): every `*.tgz`, `violet show --all` of each, and `violet verify` of the directory."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from actions.errors import RemoteCommandFailed
from actions.ssh import SshTarget, connect
from actions.violet_output import Shown, Verification, parse_show, parse_verify, show_error

SHOW_CONCURRENCY = 4
"""`violet show` runs at once on the node: each reads only its package's manifest."""

# Names are listed NUL-separated with `find -printf` (never mangled as `ls` may, and a name with a
# line break in it stays one name), then shown a few at a time, each package's output kept in its
# own file and printed in order between marker lines carrying a random token, so no package's
# output can pass for a marker. A name with a line break cannot be carried on a marker line: it is
# reported as such (`badname`, shell-quoted) and never shown, so it can neither vanish nor split
# into packages that do not exist. A missing directory (3) or violet (4) is told apart by the exit
# status.
READ_PLUGIN_DIR = r"""
set -u
dir="$1"; violet="$2"; mark="$3"; jobs="$4"
if [ ! -d "$dir" ]; then echo "no such directory: $dir" >&2; exit 3; fi
if ! command -v -- "$violet" >/dev/null; then echo "$violet is not installed (not found on PATH=$PATH)" >&2; exit 4; fi
out=$(mktemp -d) || exit 5
trap 'rm -rf "$out"' EXIT
find "$dir" -mindepth 1 -maxdepth 1 \( -type f -o -type l \) -name '*.tgz' -printf '%f\0' | LC_ALL=C sort -z >"$out/list"
export VIOLET="$violet" DIR="$dir" OUT="$out"
nl='
'
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    case "$f" in *"$nl"*) continue ;; esac
    printf '%s\0%s\0' "$n" "$f"
done <"$out/list" |
    xargs -0 -r -n 2 -P "$jobs" sh -c '"$VIOLET" show "$DIR/$1" --all >"$OUT/$0.out" 2>&1 </dev/null; echo $? >"$OUT/$0.rc"'
n=0
while IFS= read -r -d '' f; do
    n=$((n + 1))
    case "$f" in *"$nl"*) printf '%s badname %q\n' "$mark" "$f"; continue ;; esac
    printf '%s package %s\n' "$mark" "$f"
    cat "$out/$n.out"
    printf '\n%s status %s\n' "$mark" "$(cat "$out/$n.rc" 2>/dev/null || echo 127)"
done <"$out/list"
printf '%s verify\n' "$mark"
"$violet" verify "$dir" 2>&1 </dev/null
printf '\n%s status %s\n' "$mark" "$?"
"""
BAD_NAME = (
    "its file name contains a line break, which no package is shipped with and which would pass for "
    "other file names in listings: rename or remove the file"
)


@dataclass(frozen=True)
class PluginDir:
    """What the plugin directory holds, as violet sees it."""

    files: tuple[str, ...]
    """Every `*.tgz` file name, sorted."""
    shown: tuple[Shown, ...]
    """`violet show --all` of each file (with violet's error where it could not), in the same order."""
    verification: Verification


async def read_plugin_dir(target: SshTarget, directory: str, *, violet: str = "violet") -> PluginDir:
    """List the packages in `directory` on the node, show each, and verify them all: one SSH command."""
    mark = f"--regclean-{secrets.token_hex(8)}--"
    async with connect(target) as session:
        result = await session.run_script(READ_PLUGIN_DIR, [directory, violet, mark, str(SHOW_CONCURRENCY)])
    if result.exit_status == 3:
        raise RemoteCommandFailed(
            f"{target.address}: the plugin directory {directory} does not exist. "
            "Set REGCLEAN_PLUGIN_DIR (or REGCLEAN_INSTALLER_DIR) to where the packages are."
        )
    if result.exit_status == 4:
        raise RemoteCommandFailed(
            f"{target.address}: {violet} is not installed on the installer node (not on its PATH); "
            "the preflight reads each package with `violet show`."
        )
    if result.exit_status != 0:
        tail = "; ".join(result.stderr_tail[-3:]) or f"exit status {result.exit_status}"
        raise RemoteCommandFailed(f"{target.address}: reading {directory} failed: {tail}.")
    return _read(result.stdout, mark)


def _read(stdout: str, mark: str) -> PluginDir:
    shown: list[Shown] = []
    verification = Verification(error="violet verify did not run")
    what: str | None = None
    body: list[str] = []
    for line in stdout.splitlines():
        if not line.startswith(mark + " "):
            body.append(line)
            continue
        word, _, rest = line[len(mark) + 1 :].partition(" ")
        if word == "badname":
            shown.append(show_error(rest, BAD_NAME, 1))
            continue
        if word == "status" and what is not None:
            status = int(rest) if rest.strip().isdigit() else -1
            text = "\n".join(body)
            if what == "\0verify":
                verification = parse_verify(text, status)
            elif status == 0:
                shown.append(parse_show(what, text))
            else:
                shown.append(show_error(what, text, status))
            what = None
        else:
            what = rest if word == "package" else "\0verify"
        body = []
    return PluginDir(tuple(s.file for s in shown), tuple(shown), verification)


# For the restore: names only, NUL-separated: `find -printf` never mangles odd names as `ls` can, a
# line break inside a name keeps it one name, and a missing directory is told apart from an empty
# one by the exit status.
LIST_PACKAGES = r"""
set -u
dir="$1"
if [ ! -d "$dir" ]; then echo "no such directory: $dir" >&2; exit 3; fi
find "$dir" -mindepth 1 -maxdepth 1 \( -type f -o -type l \) -name '*.tgz' -printf '%f\0' | LC_ALL=C sort -z
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
    return tuple(name for name in result.stdout.split("\0") if name)
