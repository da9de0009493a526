"""A throwaway PostgreSQL server for the tests: Debian's own (`apt-get install postgresql`, in the
Makefile's DEBS), one per test session (per xdist worker), and a fresh database per test.

The cluster is made with `initdb` in a temporary directory and run with `pg_ctl` on a free port of
127.0.0.1. PostgreSQL refuses to run as root, and CI runs as root: the cluster then belongs to
`nobody` and every command runs through `runuser -u nobody`. Connections over TCP need the password
(scram-sha-256), as a real server's would, so the password travels in `DATABASE_URL`.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

USER = "regclean"


def postgres_bin() -> Path | None:
    """The newest installed PostgreSQL's bin directory (Debian keeps them apart by version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory, for as long as the session lasts."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="regclean-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.password = f"pg-{secrets.token_hex(8)}"
        self._as = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []

    def start(self) -> None:
        """initdb, then pg_ctl start; raises with PostgreSQL's own output when either fails."""
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as:
            nobody = pwd.getpwnam("nobody")
            for path in (self.root, pwfile):
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
        self._run(
            "initdb",
            "-D", str(self.data), "-U", USER, "--pwfile", str(pwfile), "-E", "UTF8", "--no-sync",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and remove its directory."""
        if (self.data / "postmaster.pid").exists():
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """The SQLAlchemy URL of a database on this server, password included."""
        return f"postgresql+psycopg://{USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg  # the extra `postgres`, in `dev`

        name = f"t_{secrets.token_hex(6)}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user=USER, password=self.password, dbname="postgres",
            autocommit=True,
        ) as connection:  # fmt: skip
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _run(self, program: str, *args: str) -> None:
        result = subprocess.run(
            [*self._as, str(self.bin_dir / program), *args],
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({result.returncode}): {result.stderr or result.stdout}{tail}"
            )
