"""A real redis-server (Debian's `redis-server`) for the registry's blob-descriptor cache.

distribution 2.8 with `storage.cache.blobdescriptor: redis` keeps its descriptors in the redis
database its `redis:` section names (`addr`, `password`, `db`), and the keys never expire: they
survive a restart of the registry. The server here keeps nothing on disk (`--save ""`), requires
a password, and listens on 127.0.0.1 on a free port.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shutil
from pathlib import Path

from .process import STOP_TIMEOUT, free_port

REDIS_BINARY = "redis-server"
READY_TIMEOUT = 15.0


def redis_binary() -> str | None:
    """The path of Debian's redis-server, or None when it is not installed."""
    return shutil.which(REDIS_BINARY)


class RedisServer:
    """redis-server on 127.0.0.1:`port` with `requirepass`; `addr` is what the registry's config names."""

    def __init__(self, workdir: Path, *, db: int = 2) -> None:
        self.workdir = workdir
        self.db = db
        """The database the registry uses (not 0, so that a FLUSHALL would show in the others)."""
        self.password = f"sandbox-redis-{secrets.token_hex(8)}"
        self._port = 0
        self._proc: asyncio.subprocess.Process | None = None

    @property
    def addr(self) -> str:
        if not self._port:
            raise RuntimeError("redis is not started")
        return f"127.0.0.1:{self._port}"

    async def start(self) -> None:
        """Start redis-server and return once it answers PING."""
        binary = redis_binary()
        if binary is None:
            raise RuntimeError(f"{REDIS_BINARY} is not installed (Debian package redis-server)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._port = free_port()
        log = self.workdir / "redis.log"
        argv = [
            binary, "--bind", "127.0.0.1", "--port", str(self._port), "--save", "", "--appendonly", "no",
            "--dir", str(self.workdir), "--logfile", str(log), "--requirepass", self.password,
        ]  # fmt: skip
        self._proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.DEVNULL, start_new_session=True
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + READY_TIMEOUT
        while True:
            if self._proc.returncode is not None:
                raise RuntimeError(f"redis-server exited with {self._proc.returncode} at start; see {log}")
            with contextlib.suppress(OSError):
                if await self.command("PING") == "PONG":
                    return
            if loop.time() > deadline:
                await self.stop()
                raise RuntimeError(f"redis-server did not answer PING within {READY_TIMEOUT:g} s; see {log}")
            await asyncio.sleep(0.05)  # polling: redis says nothing when it starts listening

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def command(self, *args: str, db: int | None = None) -> str | int | list[str] | None:
        """One command (after AUTH, and SELECT `db` when given), answered as redis-cli would print it."""
        host, port = self.addr.rsplit(":", 1)
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for pre in (("AUTH", self.password), *((("SELECT", str(db)),) if db is not None else ())):
                writer.write(_encode(pre))
                await _reply(reader)
            writer.write(_encode(args))
            return await _reply(reader)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def keys(self, db: int) -> list[str]:
        """Every key of database `db`."""
        found = await self.command("KEYS", "*", db=db)
        return list(found) if isinstance(found, list) else []


def _encode(args: tuple[str, ...]) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


async def _reply(reader: asyncio.StreamReader) -> str | int | list[str] | None:
    line = (await reader.readline()).rstrip(b"\r\n").decode()
    kind, rest = line[:1], line[1:]
    if kind == "+":
        return rest
    if kind == "-":
        raise RuntimeError(f"redis: {rest}")
    if kind == ":":
        return int(rest)
    if kind == "$":
        if int(rest) < 0:
            return None
        data = await reader.readexactly(int(rest) + 2)
        return data[:-2].decode()
    if kind == "*":
        items = [await _reply(reader) for _ in range(max(int(rest), 0))]
        return [str(i) for i in items]
    raise RuntimeError(f"redis: unexpected reply {line!r}")
