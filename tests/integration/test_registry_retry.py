"""A registry under load: 429 and 503 with `Retry-After`, from a proxy in front of Debian's
docker-registry (the sandbox's stand-in for a registry that sheds load). The waits are recorded by an
injected sleep, so no test waits for real seconds."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from actions.pull_check import check_pulls
from actions.registry import RegistryClient, RegistryTarget
from actions.registry_http import RegistryBusy, RetryPolicy
from sandbox.registry import Registry, make_oci_layout, push
from sandbox.registry.proxy import Proxy
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class Sleeps:
    """An injected sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    def policy(self, **bounds: float) -> RetryPolicy:
        return RetryPolicy(sleep=self, now=lambda: NOW, **bounds)  # type: ignore[arg-type]


@pytest.fixture
async def loaded(registry: Registry, tmp_path: Path) -> AsyncIterator[Proxy]:
    """acp/core:1 pushed to the registry, and a proxy in front of it (passing everything, until told)."""
    await push(make_oci_layout(tmp_path / "core", layers=2, seed=31), registry, "acp/core:1")
    proxy = Proxy(registry.url)
    await proxy.start()
    yield proxy
    await proxy.stop()


def target(registry: Registry, proxy: Proxy) -> RegistryTarget:
    return RegistryTarget(proxy.address, registry.username, registry.password, plain_http=True)


async def test_503_with_retry_after_in_seconds_is_waited_out_and_the_pull_succeeds(
    registry: Registry, loaded: Proxy
) -> None:
    sleeps = Sleeps()
    loaded.busy(3, status=503, retry_after="2")
    [result] = await check_pulls(
        target(registry, loaded), ["acp/core:1"], concurrency=1, retry=sleeps.policy()
    )
    assert (result.pullable, result.problem, result.blobs) == (True, None, 3)
    assert loaded.answered_busy == 3
    assert sleeps.waits == [2.0, 2.0, 2.0]


async def test_429_with_retry_after_as_an_http_date_is_waited_until_that_moment(
    registry: Registry, loaded: Proxy
) -> None:
    sleeps = Sleeps()
    loaded.busy(1, status=429, retry_after=format_datetime(NOW + timedelta(seconds=7), usegmt=True))
    async with RegistryClient(target(registry, loaded), retry=sleeps.policy()) as client:
        record = await client.record()
    assert record.repositories == {"acp/core": ("1",)}
    assert sleeps.waits == [7.0]


async def test_without_retry_after_the_waits_grow_exponentially(registry: Registry, loaded: Proxy) -> None:
    sleeps = Sleeps()
    loaded.busy(3, status=503, retry_after=None)
    async with RegistryClient(target(registry, loaded), retry=sleeps.policy(base_delay=0.5)) as client:
        await client.record()
    assert sleeps.waits == [0.5, 1.0, 2.0]


async def test_past_the_tries_the_pull_check_gives_up_with_a_clear_problem(
    registry: Registry, loaded: Proxy
) -> None:
    sleeps = Sleeps()
    loaded.busy(1000, status=503, retry_after="1")
    [result] = await check_pulls(
        target(registry, loaded), ["acp/core:1"], concurrency=1, retry=sleeps.policy(attempts=4)
    )
    assert not result.pullable
    assert result.problem == (
        "registry busy: 127.0.0.1 answered 503 Service Unavailable 4 time(s) over 3 s of waiting "
        "(next wait 1 s, bound 4 tries and 60 s): the registry is overloaded or down; try again later."
    )
    assert sleeps.waits == [1.0, 1.0, 1.0] and loaded.answered_busy == 4


async def test_a_retry_after_beyond_the_time_bound_gives_up_at_once(
    registry: Registry, loaded: Proxy
) -> None:
    sleeps = Sleeps()
    loaded.busy(1, status=429, retry_after="600")
    async with RegistryClient(target(registry, loaded), retry=sleeps.policy(budget=60)) as client:
        with pytest.raises(RegistryBusy, match=r"429 Too Many Requests 1 time\(s\).*next wait 600 s"):
            await client.record()
    assert sleeps.waits == []
