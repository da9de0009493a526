"""A real OpenSSH sshd (Debian's openssh-server) on a loopback address, for the e2e tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from pathlib import Path

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")
_BANNER = b"SSH-2.0-"
_READY_POLLS = 200  # 200 connects, 25 ms apart: sshd gets 5 s to come up
_READY_STEP = 0.025
_START_ATTEMPTS = 3  # another process may take the free port between our probe and sshd's bind
_STOP_TIMEOUT = 5.0


class OpenSshServer:
    """A real OpenSSH sshd (Debian openssh-server) on a loopback address, for the e2e test.

    Root logs in with the key in `authorized_keys` only. Its config, pid file and log are kept
    in `workdir`; SFTP is sshd's internal-sftp.
    """

    def __init__(self, address: str, workdir: Path, host_key: Path, authorized_keys: Path) -> None:
        self.address = address
        self.workdir = workdir
        self.host_key = host_key
        self.authorized_keys = authorized_keys
        self.config = workdir / "sshd_config"
        self.log = workdir / "sshd.log"
        self._port = 0
        self._proc: asyncio.subprocess.Process | None = None

    @staticmethod
    def available() -> str | None:
        """None when sshd can run here; otherwise why not, for `pytest.skip`."""
        if not os.access(SSHD, os.X_OK):
            return f"{SSHD} is missing (apt-get install openssh-server, or `make setup`)"
        if os.geteuid() != 0:
            return "sshd must run as root to log root in (CI runs as root)"
        return None

    @property
    def port(self) -> int:
        """The port sshd listens on."""
        if not self._port:
            raise RuntimeError("sshd is not started")
        return self._port

    async def start(self) -> None:
        """Start sshd on a free port and wait until it sends its SSH banner."""
        reason = self.available()
        if reason is not None:
            raise RuntimeError(reason)
        self._prepare()
        for attempt in range(1, _START_ATTEMPTS + 1):
            self._port = _free_port(self.address)
            self._write_config()
            with self.log.open("ab") as log:
                self._proc = await asyncio.create_subprocess_exec(
                    str(SSHD), "-D", "-e", "-f", str(self.config),
                    stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                    start_new_session=True,
                )  # fmt: skip
            if await self._wait_ready():
                return
            await self.stop()
            if attempt == _START_ATTEMPTS:
                raise RuntimeError(f"sshd did not start on {self.address}: {self._log_tail()}")

    async def stop(self) -> None:
        """SIGTERM sshd and the sessions it forked, and wait for it."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), _STOP_TIMEOUT)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()

    def _prepare(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)  # /run is a tmpfs: gone after a reboot
        os.chmod(self.host_key, 0o600)  # sshd refuses a host key that others can read

    def _write_config(self) -> None:
        lines = [
            f"ListenAddress {self.address}:{self._port}",
            f"HostKey {self.host_key}",
            f"AuthorizedKeysFile {self.authorized_keys}",
            f"PidFile {self.workdir / 'sshd.pid'}",
            "PermitRootLogin prohibit-password",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "UsePAM no",
            # the key files live under /tmp, which sshd's ownership checks reject
            "StrictModes no",
            "Subsystem sftp internal-sftp",
            "LogLevel ERROR",
        ]
        self.config.write_text("\n".join(lines) + "\n")

    async def _wait_ready(self) -> bool:
        """Poll until sshd answers with its banner; False if it exited (say, the port was taken)."""
        assert self._proc is not None
        for _ in range(_READY_POLLS):
            if self._proc.returncode is not None:
                return False
            try:
                reader, writer = await asyncio.open_connection(self.address, self._port)
            except OSError:
                await asyncio.sleep(_READY_STEP)
                continue
            try:
                banner = await asyncio.wait_for(reader.readline(), _STOP_TIMEOUT)
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
            if banner.startswith(_BANNER):
                return True
        return False

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-2000:].strip() or "no output"
        return "no log"


def _free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((address, 0))
        port: int = probe.getsockname()[1]
        return port
