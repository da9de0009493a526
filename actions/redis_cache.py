"""The registry's redis blob-descriptor cache: reached from regclean itself, over RESP on TCP.

regclean connects to the `redis.addr` of the registry's configuration (so it must resolve and
route from where regclean runs: in the cluster, a Service name does), authenticates with the
configured password when there is one, selects the registry's `redis.db`, and sends `FLUSHDB`:
only that database is emptied, never `FLUSHALL`. Every failure is an `ActionError` that names the
address and the database, never the password.
"""

from __future__ import annotations

import asyncio
import contextlib

from actions.errors import ActionError
from actions.registry_config import RedisAccess

TIMEOUT = 10.0


class RedisFailed(ActionError):
    """The registry's redis could not be reached, or refused a command."""


async def redis_keys(access: RedisAccess, *, timeout: float = TIMEOUT) -> int:  # noqa: ASYNC109
    """How many keys the registry's database holds (`DBSIZE`): also proves it is reachable."""
    reply = await _session(access, ("DBSIZE",), timeout)
    if not isinstance(reply, int):
        raise RedisFailed(f"redis {_where(access)} answered DBSIZE with {reply!r}, not a number.")
    return reply


async def flush_db(access: RedisAccess, *, timeout: float = TIMEOUT) -> None:  # noqa: ASYNC109
    """`FLUSHDB` on the registry's database only; raises RedisFailed unless redis answers OK."""
    reply = await _session(access, ("FLUSHDB",), timeout)
    if reply != "OK":
        raise RedisFailed(f"redis {_where(access)} answered FLUSHDB with {reply!r}, not OK.")


def _where(access: RedisAccess) -> str:
    return f"{access.addr} db {access.db}"


async def _session(access: RedisAccess, command: tuple[str, ...], timeout: float) -> str | int | None:  # noqa: ASYNC109
    host, _, port = access.addr.rpartition(":")
    if not host or not port.isdigit():
        host, port = access.addr, "6379"
    where = _where(access)
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(host.strip("[]"), int(port))
            try:
                if access.password:
                    await _call(reader, writer, ("AUTH", access.password), where, "AUTH")
                if access.db:
                    await _call(reader, writer, ("SELECT", str(access.db)), where, "SELECT")
                return await _call(reader, writer, command, where, command[0])
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except TimeoutError:
        raise RedisFailed(f"redis {where} did not answer within {timeout:g} s.") from None
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise RedisFailed(
            f"Cannot reach redis {where} from regclean: {why}. The registry caches blob descriptors "
            "there; regclean must reach that address to flush it."
        ) from None


async def _call(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, args: tuple[str, ...], where: str, name: str
) -> str | int | None:
    payload = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        payload.append(b"$%d\r\n%s\r\n" % (len(data), data))
    writer.write(b"".join(payload))
    await writer.drain()
    line = (await reader.readline()).rstrip(b"\r\n").decode(errors="replace")
    if not line:
        raise RedisFailed(f"redis {where} closed the connection at {name}.")
    kind, rest = line[:1], line[1:]
    if kind == "-":
        hint = ""
        if rest.startswith(("NOAUTH", "WRONGPASS")) or "password" in rest.lower():
            hint = " Check the `redis.password` of the registry's configuration."
        raise RedisFailed(f"redis {where} refused {name}: {rest[:200]}.{hint}")
    if kind == "+":
        return rest
    if kind == ":":
        return int(rest)
    if kind == "$":
        size = int(rest)
        return None if size < 0 else (await reader.readexactly(size + 2))[:-2].decode(errors="replace")
    raise RedisFailed(f"redis {where} answered {name} with something that is not RESP: {line[:80]!r}.")
