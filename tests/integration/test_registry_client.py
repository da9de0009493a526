"""Reading the platform registry's catalog and tags, against Debian's docker-registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions.errors import RegistryAuthFailed, RegistryUnreachable
from actions.registry import RegistryClient, RegistryTarget
from sandbox.registry import Registry, make_oci_layout, push
from sandbox.registry.process import free_port
from tests.conftest import NEEDS_REGISTRY_AND_SKOPEO

pytestmark = [pytest.mark.e2e, *NEEDS_REGISTRY_AND_SKOPEO]


def target(reg: Registry, password: str | None = None) -> RegistryTarget:
    return RegistryTarget(reg.address, reg.username, password or reg.password, plain_http=True)


async def test_the_record_lists_every_repository_and_tag(registry: Registry, tmp_path: Path) -> None:
    core = make_oci_layout(tmp_path / "core", seed=1)
    plugin = make_oci_layout(tmp_path / "plugin", seed=2)
    await push(core, registry, "acp/core:latest")
    await push(core, registry, "acp/core:v4.2.0")
    await push(plugin, registry, "3rdparty/custom-app:1.0")
    async with RegistryClient(target(registry), page_size=1) as client:  # every page, by its Link header
        record = await client.record()
    assert record.repositories == {"3rdparty/custom-app": ("1.0",), "acp/core": ("latest", "v4.2.0")}
    assert record.tag_count == 3


async def test_a_repository_without_tags_is_recorded_with_none(registry: Registry, tmp_path: Path) -> None:
    await push(make_oci_layout(tmp_path / "core", seed=1), registry, "acp/core:latest")
    # What an interrupted push leaves: a layer link, no tag. The catalog lists the repository and
    # its tag list answers 404 NAME_UNKNOWN.
    client = registry.s3.client()
    try:
        link = "docker/registry/v2/repositories/team/half-pushed/_layers/sha256/" + "ab" * 32 + "/link"
        client.put_object(Bucket="registry", Key=link, Body=b"sha256:" + b"ab" * 32)
    finally:
        client.close()
    async with RegistryClient(target(registry)) as reader:
        record = await reader.record()
    assert record.repositories == {"acp/core": ("latest",), "team/half-pushed": ()}


async def test_wrong_credentials_are_refused_without_showing_the_password(registry: Registry) -> None:
    async with RegistryClient(target(registry, "canary-wrong-password-5T")) as client:
        with pytest.raises(RegistryAuthFailed) as refused:
            await client.record()
    assert "canary-wrong-password-5T" not in str(refused.value)
    assert "REGCLEAN_REGISTRY_PASSWORD" in str(refused.value)


async def test_a_registry_that_does_not_answer_is_named() -> None:
    address = f"127.0.0.1:{free_port()}"
    async with RegistryClient(RegistryTarget(address, "u", "p", plain_http=True)) as client:
        with pytest.raises(RegistryUnreachable, match=address):
            await client.record()
