"""The runner lease on SQLite and PostgreSQL: one holder, renewed, taken over only when expired,
released, or left by a process of this host that is gone."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from bot.store.database import Database
from bot.store.lease import Holder, RunnerLease
from bot.store.migrate import open_database
from sandbox.clock import FakeClock

TTL = timedelta(seconds=30)
T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def lease(url: str, holder: Holder, clock: FakeClock) -> RunnerLease:
    return RunnerLease(open_database(url, clock), holder, TTL)


def elsewhere(name: str, pid: int = 4242) -> Holder:
    return Holder(f"id-{name}", f"replica-{name}", pid)


def test_the_first_process_takes_the_lease_and_the_second_sees_who_holds_it(database_url: str) -> None:
    clock = FakeClock(T0)
    a, b = lease(database_url, elsewhere("a"), clock), lease(database_url, elsewhere("b"), clock)
    assert a.acquire().holder == a.me
    clock.advance(timedelta(seconds=29))
    held = b.acquire()
    assert held.holder == a.me and held.expires_at == T0 + TTL
    assert a.acquire().holder == a.me, "taking it again is keeping it"


def test_a_renewed_lease_is_not_taken_over_and_an_expired_one_is(database_url: str) -> None:
    clock = FakeClock(T0)
    a, b = lease(database_url, elsewhere("a"), clock), lease(database_url, elsewhere("b"), clock)
    a.acquire()
    clock.advance(timedelta(seconds=20))
    assert a.renew()
    clock.advance(timedelta(seconds=20))  # past the first expiry, not the renewed one
    assert b.acquire().holder == a.me
    clock.advance(timedelta(seconds=11))
    taken = b.acquire()
    assert taken.holder == b.me and taken.expires_at == clock.now() + TTL
    assert not a.renew(), "the old holder learns that it lost the lease"
    assert b.current() is not None and b.current().holder == b.me  # type: ignore[union-attr]


def test_a_released_lease_is_taken_at_once(database_url: str) -> None:
    clock = FakeClock(T0)
    a, b = lease(database_url, elsewhere("a"), clock), lease(database_url, elsewhere("b"), clock)
    a.acquire()
    b.release()  # not b's: nothing happens
    assert b.acquire().holder == a.me
    a.release()
    assert a.current() is None
    assert b.acquire().holder == b.me


def test_processes_racing_for_a_free_or_expired_lease_end_with_one_holder(database_url: str) -> None:
    clock = FakeClock(T0)
    for round_ in ("free", "expired"):
        holders = [lease(database_url, elsewhere(f"{round_}-{i}"), clock) for i in range(6)]
        barrier = threading.Barrier(len(holders))
        with ThreadPoolExecutor(len(holders)) as pool:
            seen = list(pool.map(take_at_once, holders, [barrier] * len(holders)))
        assert len(set(seen)) == 1 and seen[0].startswith(f"id-{round_}-"), seen
        for one in holders:
            one.db.close()
        clock.advance(TTL * 2)


def take_at_once(one: RunnerLease, barrier: threading.Barrier) -> str:
    """Acquire as soon as every racer is ready; who holds the lease then."""
    barrier.wait()
    return one.acquire().holder.id


def test_a_holder_on_this_host_that_is_gone_is_taken_over_at_once(database_url: str) -> None:
    clock = FakeClock(T0)
    here = socket.gethostname()
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead = lease(database_url, Holder("id-dead", here, int(ended.stdout)), clock)
    dead.acquire()
    me = lease(database_url, Holder("id-me", here, os.getpid() + 1_000_000), clock)
    assert me.acquire().holder == me.me, "its pid runs no process"


def test_a_holder_on_this_host_that_still_runs_is_not_taken_over(database_url: str) -> None:
    clock = FakeClock(T0)
    here = socket.gethostname()
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    ) as child:
        try:
            alive = lease(database_url, Holder("id-alive", here, child.pid), clock)
            alive.acquire()
            other = lease(database_url, Holder("id-other", here, os.getpid()), clock)
            assert other.acquire().holder == alive.me
        finally:
            child.communicate(b"")


def test_a_holder_with_our_own_pid_on_this_host_is_our_previous_incarnation(database_url: str) -> None:
    # A container restarted in its pod: same host name, and (pid 1) the same pid as before.
    clock = FakeClock(T0)
    here = socket.gethostname()
    lease(database_url, Holder("id-before", here, os.getpid()), clock).acquire()
    after = lease(database_url, Holder("id-after", here, os.getpid()), clock)
    assert after.acquire().holder == after.me


def test_lease_times_read_back_as_stored(database_url: str) -> None:
    clock = FakeClock(T0)
    a = lease(database_url, elsewhere("a"), clock)
    a.acquire()
    current = RunnerLease(Database.from_url(database_url, clock), elsewhere("x"), TTL).current()
    assert current is not None
    assert (current.acquired_at, current.expires_at) == (T0, T0 + TTL)
    assert current.expires_at.tzinfo is not None
