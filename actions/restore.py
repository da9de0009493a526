"""Runbook steps 5 and 7 on the installer node: `res/upload.sh` and `violet push`, streamed and masked.

The vendor's tools take the password (or violet the platform token) as an argument, so it has to
reach their command line. It never travels on the SSH exec request, though (sshd may log that, and it is visible in `ps` for
the whole session): a small wrapper goes on stdin, reads the password from the next line of stdin,
and only then runs the runbook's exact command with it. Every line shown or kept is masked.
"""

from __future__ import annotations

import base64
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from actions.errors import ActionError
from actions.masking import masker
from actions.ssh import SshTarget, connect

TAIL_LINES = 20
MODES = ("all", "necessary")
WRAPPER_FAILED = 125
"""The wrapper's own exit status when it could not start the command (as `env` and `timeout` use it)."""

LineSink = Callable[[str], Awaitable[None]]
"""Receives masked lines (stdout and stderr, in order of arrival)."""

# bash reads a script from a pipe without reading ahead, so the `read` on the line before the last
# gets the password, which follows the script on stdin. Nothing comes after it, so bash never runs
# it as a command; the vendor's tool gets /dev/null as its stdin.
_LAST_LINE = """
IFS= read -r pass && main "$@" </dev/null
"""

UPLOAD = (
    r"""
set -u
main() {
    if [ ! -d "$1" ]; then
        echo "regclean: the installer directory $1 does not exist (REGCLEAN_INSTALLER_DIR)." >&2
        exit 125
    fi
    if ! cd -- "$1"; then
        echo "regclean: cannot enter the installer directory $1." >&2
        exit 125
    fi
    if [ ! -f res/upload.sh ]; then
        echo "regclean: $1/res/upload.sh does not exist: is $1 the installer directory?" >&2
        exit 125
    fi
    exec bash res/upload.sh "$2" "$3" "$4" "$pass"
}
"""
    + _LAST_LINE
)

_PUSH_CHECKS = r"""
set -u
main() {
    if ! command -v -- "$1" >/dev/null; then
        echo "regclean: $1 is not installed (not found on PATH=$PATH)." >&2
        exit 125
    fi
    if [ ! -f "$2" ]; then
        echo "regclean: the package $2 does not exist." >&2
        exit 125
    fi
"""
PUSH = (
    _PUSH_CHECKS
    + r"""    exec "$1" push "$2" --platform-address "$3" --platform-username "$4" --platform-password "$pass"
}
"""
    + _LAST_LINE
)
PUSH_WITH_TOKEN = (
    _PUSH_CHECKS
    + r"""    exec "$1" push "$2" --platform-address "$3" --platform-token "$pass"
}
"""
    + _LAST_LINE
)


@dataclass(frozen=True)
class RestoreOutcome:
    """How one upload.sh or violet run ended, with its last lines (masked)."""

    exit_status: int | None
    """The command's exit status; None when the outcome is unknown (connection lost, timed out)."""
    tail: tuple[str, ...]
    """The last output lines (stdout and stderr interleaved), masked."""
    lines: int
    """How many output lines there were."""
    problem: str | None = None
    """Why it did not succeed, as a masked sentence; None when it did."""

    @property
    def succeeded(self) -> bool:
        """Whether the command ran to its end and exited 0."""
        return self.exit_status == 0


async def run_upload(
    target: SshTarget,
    installer_dir: str,
    mode: str,
    registry: str,
    username: str,
    password: str,
    on_line: LineSink,
) -> RestoreOutcome:
    """`cd <installer_dir> && bash res/upload.sh <mode> <registry> <username> <password>` on the node."""
    if mode not in MODES:
        raise ValueError(f"upload mode must be one of {MODES}, not {mode!r}")
    return await _run(
        target,
        UPLOAD,
        [installer_dir, mode, registry, username],
        password,
        secrets=[password, _basic(username, password)],
        what=f"res/upload.sh {mode}",
        on_line=on_line,
    )


async def violet_push(
    target: SshTarget,
    package: str,
    platform_url: str,
    username: str,
    password: str,
    on_line: LineSink,
    *,
    violet: str = "violet",
    token: str | None = None,
) -> RestoreOutcome:
    """`violet push <package> --platform-address URL --platform-username U --platform-password P` on the
    node; with a `token`, `--platform-token T` instead of the username and password (which are not used)."""
    if token is not None:
        return await _run(
            target,
            PUSH_WITH_TOKEN,
            [violet, package, platform_url],
            token,
            secrets=[token],
            what=f"violet push {package}",
            on_line=on_line,
        )
    return await _run(
        target,
        PUSH,
        [violet, package, platform_url, username],
        password,
        secrets=[password, _basic(username, password)],
        what=f"violet push {package}",
        on_line=on_line,
    )


async def _run(
    target: SshTarget,
    script: str,
    args: Sequence[str],
    password: str,
    *,
    secrets: Sequence[str],
    what: str,
    on_line: LineSink,
) -> RestoreOutcome:
    mask = masker(secrets)
    if "\n" in password or "\r" in password or "\0" in password:
        raise ActionError(
            f"{target.address}: the password or token for {mask(what)} contains a line break or NUL byte, "
            "which cannot be passed to the command safely; nothing was run."
        )
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    count = 0

    async def masked(line: str) -> None:
        nonlocal count
        line = mask(line)
        count += 1
        tail.append(line)
        await on_line(line)

    try:
        async with connect(target) as session:
            ended = await session.stream_script(
                script, args, on_line=masked, after_script=password + "\n", cut=mask.cut
            )
    except ActionError as exc:
        text = str(exc)
        if mask(text) == text:
            raise
        raise type(exc)(mask(text)) from None
    if ended.exit_status is None:
        problem = f"{target.address}: {mask(what)}: {mask(ended.unknown_because or 'no exit status')}."
        tail.append(f"regclean: {problem}")
        return RestoreOutcome(None, tuple(tail), count, problem)
    if ended.exit_status == 0:
        return RestoreOutcome(0, tuple(tail), count)
    if ended.exit_status == WRAPPER_FAILED and tail and tail[-1].startswith("regclean: "):
        problem = f"{target.address}: {tail[-1].removeprefix('regclean: ')}"
    elif ended.signal is not None:
        problem = f"{target.address}: {mask(what)} was killed by signal {ended.signal}."
    else:
        problem = f"{target.address}: {mask(what)} exited with status {ended.exit_status}."
    return RestoreOutcome(ended.exit_status, tuple(tail), count, problem)


def _basic(username: str, password: str) -> str:
    """`user:pass` as HTTP basic auth and docker's config.json carry it."""
    return base64.b64encode(f"{username}:{password}".encode()).decode()
