"""SSH sessions to the nodes: connect with a verified host key, run scripts, stream their output,
copy a file off the node (the package `actions/ssh/` is the only one that imports `asyncssh`).

Host keys are always checked against a known_hosts file; there is no fallback that accepts an
unknown key. Every failure comes out as one of our errors, saying which node and what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

import asyncssh

from actions.errors import (
    ActionError,
    AuthenticationRefused,
    ConnectionDropped,
    HostKeyRejected,
    NodeUnreachable,
    RemoteCommandFailed,
    RemoteFileError,
)
from actions.line_pump import HandlerFailed, pump_lines
from actions.output_lines import Cut
from actions.ssh.files import RemoteFiles
from actions.ssh.reasons import reason

LineHandler = Callable[[str], Awaitable[bool]]
"""Gets each stderr line as it comes; returns True when it consumed the line."""

OutputHandler = Callable[[str], Awaitable[None]]
"""Gets each stdout and stderr line as it comes, in order of arrival, without its newline."""


@dataclass(frozen=True)
class SshTarget:
    """Where and how to reach one node."""

    address: str
    port: int
    user: str
    key: Path
    """The private key to authenticate with."""
    known_hosts: Path
    """The only source of trusted host keys."""
    connect_timeout: float = 15.0
    command_timeout: float = 4 * 3600.0
    timeout_setting: str = "REGCLEAN_SSH_COMMAND_TIMEOUT"
    """The setting that `command_timeout` comes from, named when a command runs out of time."""

    @property
    def where(self) -> str:
        """`user@address:port`, for messages."""
        return f"{self.user}@{self.address}:{self.port}"


@dataclass(frozen=True)
class RemoteResult:
    """What a remote command left behind."""

    exit_status: int
    stdout: str
    stderr_tail: tuple[str, ...]
    """The last lines of stderr that the handler did not consume."""


@dataclass(frozen=True)
class StreamedExit:
    """How a streamed command ended."""

    exit_status: int | None
    """The command's exit status (128 + N when signal N killed it); None when the outcome is unknown."""
    unknown_because: str | None = None
    """Why the outcome is unknown (the command timed out, or the connection was lost)."""
    signal: str | None = None
    """The signal that killed the command, if one did."""


class Session:
    """An open SSH connection to a node."""

    def __init__(self, target: SshTarget, conn: asyncssh.SSHClientConnection) -> None:
        self.target = target
        self._conn = conn

    async def run_script(
        self,
        script: str,
        args: Sequence[str],
        *,
        on_stderr: LineHandler | None = None,
    ) -> RemoteResult:
        """Run a bash script (sent on stdin) with arguments; stderr lines go to `on_stderr` as they come."""
        command = "bash -s -- " + " ".join(_quote(a) for a in args)
        tail: list[str] = []
        try:
            async with asyncio.timeout(self.target.command_timeout):
                process = await self._conn.create_process(command, encoding="utf-8", errors="replace")
                process.stdin.write(script)
                process.stdin.write_eof()
                stdout_task = asyncio.create_task(process.stdout.read())
                try:
                    async for line in process.stderr:
                        line = line.rstrip("\n")
                        if on_stderr is not None and await on_stderr(line):
                            continue  # consumed (a progress line): not part of the error tail
                        tail = [*tail[-19:], line]
                    stdout = await stdout_task
                finally:  # a connection lost under stderr must not leave stdout's error unretrieved
                    stdout_task.cancel()
                    await asyncio.gather(stdout_task, return_exceptions=True)
                completed = await process.wait(check=False)
        except TimeoutError:
            raise RemoteCommandFailed(
                f"{self.target.address}: the command did not finish within "
                f"{self.target.command_timeout:.0f} s ({self.target.timeout_setting}); it was abandoned."
            ) from None
        except (asyncssh.Error, OSError) as exc:
            raise ConnectionDropped(
                f"{self.target.address}: the SSH connection was lost while the command ran "
                f"({reason(exc)}); its outcome is unknown."
            ) from None
        if completed.exit_status is None:
            signal = completed.exit_signal[0] if completed.exit_signal else "none"
            raise ConnectionDropped(
                f"{self.target.address}: the command ended without an exit status (signal {signal}); "
                "its outcome is unknown."
            )
        return RemoteResult(completed.exit_status, stdout, tuple(tail))

    async def stream_script(
        self,
        script: str,
        args: Sequence[str],
        *,
        on_line: OutputHandler,
        after_script: str = "",
        cut: Cut | None = None,
    ) -> StreamedExit:
        """Run a bash script sent on stdin, followed there by `after_script` for the script itself to read;
        every stdout and stderr line goes to `on_line` as it comes (an overlong one in pieces, cut
        where `cut` says: `Masker.cut` keeps a secret whole).

        Memory stays bounded whatever the command prints: lines are handed on as they complete, and
        `on_line` holds up reading (and, through SSH flow control, the command) while it works.
        """
        command = "bash -s -- " + " ".join(_quote(a) for a in args)
        process: asyncssh.SSHClientProcess[bytes] | None = None
        try:
            async with asyncio.timeout(self.target.command_timeout):
                process = await self._conn.create_process(command, encoding=None)
                process.stdin.write((script + after_script).encode())
                process.stdin.write_eof()
                await pump_lines(process.stdout, process.stderr, on_line, cut=cut)
                completed = await process.wait(check=False)
        except HandlerFailed as failed:
            raise failed.error from failed.error.__cause__
        except TimeoutError:
            return StreamedExit(
                None,
                f"the command did not finish within {self.target.command_timeout:.0f} s "
                f"({self.target.timeout_setting}) and was stopped; how far it got is unknown",
            )
        except (asyncssh.Error, OSError) as exc:
            return StreamedExit(None, f"the SSH connection was lost while the command ran ({reason(exc)})")
        finally:
            if process is not None:
                if process.returncode is None:  # abandoned: stop it rather than leave it running unseen
                    with contextlib.suppress(asyncssh.Error, OSError):
                        process.terminate()
                process.close()
        if completed.exit_signal:
            name = completed.exit_signal[0]
            number = getattr(signal.Signals, f"SIG{name}", 0)
            return StreamedExit(128 + int(number), signal=name)
        if completed.exit_status is None:
            return StreamedExit(None, "the command ended without an exit status (the connection was lost)")
        return StreamedExit(completed.exit_status)

    async def download(self, remote: str, local: Path, *, on_bytes: Callable[[int], Awaitable[None]]) -> str:
        """Copy a remote file over SFTP to `local` (written as a temporary file, then renamed); return its sha256."""
        partial = local.with_name(f".{local.name}.partial")
        digest = hashlib.sha256()
        done = 0
        try:
            async with self._conn.start_sftp_client() as sftp, sftp.open(remote, "rb") as source:
                with _private_new_file(partial) as sink:
                    while chunk := cast(bytes, await source.read(1 << 20)):
                        sink.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        await on_bytes(done)
                    sink.flush()
                    await asyncio.to_thread(os.fsync, sink.fileno())
        except (asyncssh.Error, OSError) as exc:
            partial.unlink(missing_ok=True)
            raise ConnectionDropped(
                f"{self.target.address}: copying {remote} off the node failed ({reason(exc)})."
            ) from None
        partial.replace(local)
        return digest.hexdigest()

    @asynccontextmanager
    async def files(self) -> AsyncIterator[RemoteFiles]:
        """The node's files over one SFTP channel (`RemoteFiles`), closed on leaving."""
        try:
            sftp = await self._conn.start_sftp_client()
        except (asyncssh.Error, OSError) as exc:
            raise RemoteFileError(f"{self.target.address}: SFTP is not available ({reason(exc)}).") from None
        try:
            yield RemoteFiles(self.target.address, sftp)
        finally:
            sftp.exit()


@asynccontextmanager
async def connect(target: SshTarget) -> AsyncIterator[Session]:
    """Open an SSH connection with key authentication and a verified host key."""
    try:
        conn = await asyncio.wait_for(
            asyncssh.connect(
                target.address,
                port=target.port,
                username=target.user,
                client_keys=[str(target.key)],
                known_hosts=str(target.known_hosts),
                config=None,
                agent_path=None,
                password=None,
                kbdint_auth=False,
                gss_auth=False,
                connect_timeout=target.connect_timeout,
            ),
            timeout=target.connect_timeout + 5,
        )
    except asyncssh.HostKeyNotVerifiable:
        raise await _host_key_error(target) from None
    except asyncssh.PermissionDenied:
        raise AuthenticationRefused(
            f"{target.where} refused our key {target.key}. Add its public key to that user's "
            "authorized_keys, or set REGCLEAN_SSH_USER / REGCLEAN_SSH_KEY."
        ) from None
    except TimeoutError:
        raise NodeUnreachable(
            f"{target.address}:{target.port} did not answer within {target.connect_timeout:.0f} s."
        ) from None
    except (OSError, asyncssh.Error) as exc:
        raise NodeUnreachable(f"Cannot reach {target.address}:{target.port}: {reason(exc)}.") from None
    except ValueError as exc:  # an unreadable key file
        raise ActionError(f"Cannot use the SSH key {target.key}: {exc}.") from None
    try:
        yield Session(target, conn)
    finally:
        conn.close()
        await conn.wait_closed()


async def _host_key_error(target: SshTarget) -> ActionError:
    """Say which key the node offered and whether known_hosts has another one for it."""
    offered = "unknown"
    try:
        key = await asyncio.wait_for(
            asyncssh.get_server_host_key(target.address, target.port, config=None), target.connect_timeout
        )
        if key is not None:
            offered = f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"
    except (OSError, asyncssh.Error, TimeoutError):
        pass
    try:
        known = asyncssh.read_known_hosts(str(target.known_hosts)).match(
            target.address, target.address, target.port
        )[0]
    except (OSError, ValueError):
        known = []
    if known:
        return HostKeyRejected(
            f"{target.address}:{target.port} offered host key {offered}, which differs from the one "
            f"in {target.known_hosts}. The host key changed: check the node before trusting it. Refusing."
        )
    return HostKeyRejected(
        f"{target.address}:{target.port} offered host key {offered}, which is not in {target.known_hosts}. "
        "If it is right, add it (ssh-keyscan, then compare the fingerprint). Refusing."
    )


def _quote(arg: str) -> str:
    return "'" + arg.replace("'", "'\"'\"'") + "'"


def _private_new_file(path: Path) -> BinaryIO:
    """A new file only this user may read (0600), created where `path` names and never through a
    link planted there: what is at that name (a leftover of an interrupted copy, or a symlink) is
    removed first (a link, not its target), and O_EXCL|O_NOFOLLOW refuses anything that reappears."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    return os.fdopen(fd, "wb")
