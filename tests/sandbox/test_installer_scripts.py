"""The installer's stand-ins on the sandbox's installer node, run over SSH as the bot runs them:
`res/upload.sh` and `violet push` push real images with skopeo, fail as the real ones do, and
carry the fault switches the restore tests use."""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest

from actions.registry import RegistryClient, RegistryTarget
from sandbox.installer import FAIL_AFTER
from sandbox.registry import S3Server, SkopeoError, layout_manifest, pull, registry_binary, skopeo_binary
from sandbox.stack import INSTALLER_NODE, PLATFORM_CANARY, Sandbox

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        registry_binary() is None, reason="docker-registry is not installed (Debian package docker-registry)"
    ),
    pytest.mark.skipif(skopeo_binary() is None, reason="skopeo is not installed (Debian package skopeo)"),
]

CLICKHOUSE = "clickhouse-operator.amd64.v4.2.0.tgz"
OLD_TAGS = {"acp/archon:v4.1.0", "acp/courier-api:v4.1.2", "acp/toolbox:v4.1.0"}
CUSTOM = {"retail/order-service:1.4.2", "retail/report-builder:2.0.0-rc1"}


@dataclass(frozen=True)
class Ran:
    exit_status: int | None
    stdout: str
    stderr: str


@pytest.fixture
async def box(tmp_path: Path, sandbox_s3: S3Server) -> AsyncIterator[Sandbox]:
    sandbox = Sandbox(tmp_path / "sandbox", s3=sandbox_s3)
    await sandbox.start()
    yield sandbox
    await sandbox.stop()


@pytest.fixture
async def purged(box: Sandbox) -> Sandbox:
    """The sandbox after the runbook's purge and registry restart: an empty registry."""
    box.s3.empty_bucket()
    await box.registry.restart()
    assert await catalog(box) == set()
    return box


async def on_node(box: Sandbox, *argv: str) -> Ran:
    """Run a command on the installer node, in the installer directory, over SSH."""
    node = box.nodes.nodes[INSTALLER_NODE]
    command = f"cd {shlex.quote(str(box.installer_dir))} && {shlex.join(argv)}"
    async with asyncssh.connect(
        INSTALLER_NODE,
        node.port,
        username="root",
        client_keys=[str(box.nodes.keys.client_key)],
        known_hosts=str(box.nodes.keys.known_hosts),
        agent_path=None,
        config=None,
    ) as conn:
        result = await conn.run(command, check=False, timeout=120)
    return Ran(result.exit_status, str(result.stdout), str(result.stderr))


async def upload(box: Sandbox, mode: str, password: str | None = None) -> Ran:
    registry = box.registry
    return await on_node(
        box, "bash", "res/upload.sh", mode, registry.address, registry.username, password or registry.password
    )


async def violet(box: Sandbox, package: str, password: str | None = None, address: str | None = None) -> Ran:
    return await on_node(
        box,
        "violet",
        "push",
        str(box.plugin_dir / package),
        "--platform-address",
        address or box.platform_url,
        "--platform-username",
        box.platform_username,
        "--platform-password",
        password or box.platform_password,
    )


async def catalog(box: Sandbox) -> set[str]:
    """`repo:tag` of everything the registry lists."""
    target = RegistryTarget(box.registry.address, box.registry.username, box.registry.password, insecure=True)
    async with RegistryClient(target) as client:
        record = await client.record()
    return {f"{repo}:{tag}" for repo, tags in record.repositories.items() for tag in tags}


def pushing_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("[")]


async def test_upload_restores_the_necessary_then_all_core_images_after_a_purge(
    purged: Sandbox, tmp_path: Path
) -> None:
    necessary = await upload(purged, "necessary")
    assert necessary.exit_status == 0, necessary.stderr
    assert await catalog(purged) == set(purged.necessary_images)
    assert set(purged.necessary_images) < set(purged.core_images)

    everything = await upload(purged, "all")
    assert everything.exit_status == 0, everything.stderr
    total = len(purged.core_images)
    assert pushing_lines(everything.stdout) == [
        f"[{n}/{total}] pushing {ref} ..." for n, ref in enumerate(purged.core_images, start=1)
    ]
    assert everything.stdout.splitlines()[-1] == "done"
    restored = await catalog(purged)
    assert restored == set(purged.core_images)
    assert not restored & (OLD_TAGS | CUSTOM), "old tags and custom images are not in the installer"
    assert "acp/archon:v4.2.5" in restored

    await pull(purged.registry, "acp/core:latest", tmp_path / "core")
    shipped = purged.installer_dir / "res" / "images" / "acp" / "core" / "latest"
    assert layout_manifest(tmp_path / "core")["digest"] == layout_manifest(shipped)["digest"]


async def test_upload_traces_its_skopeo_commands_with_the_password_in_them(box: Sandbox) -> None:
    ran = await upload(box, "necessary")
    assert ran.exit_status == 0, ran.stderr
    traced = [line for line in ran.stderr.splitlines() if line.startswith("+ skopeo ")]
    assert len(traced) == len(box.necessary_images)
    assert all(f"--dest-creds {box.registry.username}:{box.registry.password} " in line for line in traced)


async def test_upload_with_a_wrong_password_fails_with_skopeos_unauthorized_error(purged: Sandbox) -> None:
    ran = await upload(purged, "all", password="not-the-password")
    assert ran.exit_status == 1
    assert "unauthorized: authentication required" in ran.stderr
    assert f"ERROR: push {purged.core_images[0]} failed (skopeo exited with 1)" in ran.stderr
    assert len(pushing_lines(ran.stdout)) == 1, "it stops at the first failed push"
    assert await catalog(purged) == set()


async def test_upload_breaks_off_after_as_many_images_as_the_fail_after_switch_says(purged: Sandbox) -> None:
    purged.fail_upload_after(4)
    assert (purged.installer_dir / FAIL_AFTER).read_text() == "4\n"
    ran = await upload(purged, "all")
    assert ran.exit_status == 1
    assert pushing_lines(ran.stdout)[-1].startswith(f"[5/{len(purged.core_images)}] pushing ")
    assert f"ERROR: push {purged.core_images[4]} failed" in ran.stderr
    assert await catalog(purged) == set(purged.core_images[:4])

    purged.fail_upload_after(None)
    again = await upload(purged, "all")
    assert again.exit_status == 0, again.stderr
    assert await catalog(purged) == set(purged.core_images)


async def test_upload_answers_usage_errors_with_status_2(box: Sandbox) -> None:
    too_few = await on_node(box, "bash", "res/upload.sh", "all", box.registry.address)
    assert too_few.exit_status == 2
    assert "expected 4 arguments, got 2" in too_few.stderr
    assert "Usage: bash res/upload.sh <all|necessary> <registry> <username> <password>" in too_few.stderr

    unknown = await upload(box, "everything")
    assert unknown.exit_status == 2
    assert "unknown mode 'everything'" in unknown.stderr
    assert unknown.stdout == ""


async def test_the_installer_holds_the_seeded_images_so_a_push_without_a_restart_does_not_pull(
    box: Sandbox, tmp_path: Path
) -> None:
    box.s3.empty_bucket()  # and no restart: the registry's blob-descriptor cache still answers
    ran = await upload(box, "necessary")
    assert ran.exit_status == 0, "the push 'succeeds': the registry says it has every blob"
    with pytest.raises(SkopeoError):
        await pull(box.registry, "acp/core:latest", tmp_path / "core")


async def test_violet_push_restores_a_packages_images(purged: Sandbox, tmp_path: Path) -> None:
    ran = await violet(purged, CLICKHOUSE)
    assert ran.exit_status == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[0] == f"Logged in to {purged.platform_url} as {purged.platform_username}"
    assert lines[-1] == f"Push package {CLICKHOUSE} succeeded"
    assert purged.package_images[CLICKHOUSE] == ["ait/clickhouse-operator:v4.2.0"]
    assert await catalog(purged) == {"ait/clickhouse-operator:v4.2.0"}
    await pull(purged.registry, "ait/clickhouse-operator:v4.2.0", tmp_path / "operator")


async def test_the_core_and_every_package_bring_back_all_but_old_tags_and_custom_images(
    purged: Sandbox,
) -> None:
    assert (await upload(purged, "all")).exit_status == 0
    env = purged.environment("http")
    # Eight at a time (REGCLEAN_VIOLET_CONCURRENCY allows it); xargs exits 123 if any push failed.
    each = (
        'export URL="$1" U="$2" P="$3"; '
        "printf '%s\\0' plugins/*.tgz | xargs -0 -n 1 -P 8 sh -c "
        '\'violet push "$0" --platform-address "$URL" --platform-username "$U" --platform-password "$P"\''
    )
    ran = await on_node(
        purged,
        "bash",
        "-c",
        each,
        "restore",
        env["REGCLEAN_PLATFORM_URL"],
        env["REGCLEAN_PLATFORM_USERNAME"],
        env["REGCLEAN_PLATFORM_PASSWORD"],
    )
    assert ran.exit_status == 0, ran.stderr
    restored = await catalog(purged)
    assert restored == set(purged.core_images).union(*purged.package_images.values())
    assert set(purged.images) - restored == OLD_TAGS | CUSTOM
    assert sorted(purged.package_images) == purged.packages


async def test_violet_refuses_a_wrong_platform_password_or_address(purged: Sandbox) -> None:
    wrong = await violet(purged, CLICKHOUSE, password="not-the-password")
    assert (wrong.exit_status, wrong.stderr) == (1, "Error: authentication failed: 401 Unauthorized\n")
    elsewhere = await violet(purged, CLICKHOUSE, address="https://192.0.2.1")
    assert elsewhere.exit_status == 1
    assert "connection refused" in elsewhere.stderr
    assert await catalog(purged) == set()


async def test_violet_fail_switch_once_fails_one_push_then_lets_the_retry_through(purged: Sandbox) -> None:
    switch = purged.plugin_dir / f"{CLICKHOUSE}.fail"
    purged.fail_package(CLICKHOUSE, "once")
    first = await violet(purged, CLICKHOUSE)
    assert first.exit_status == 1
    assert "500 Internal Server Error" in first.stderr
    assert not switch.exists()
    assert await catalog(purged) == set()

    retry = await violet(purged, CLICKHOUSE)
    assert retry.exit_status == 0, retry.stderr
    assert await catalog(purged) == {"ait/clickhouse-operator:v4.2.0"}


async def test_violet_fail_switch_always_fails_every_push(purged: Sandbox) -> None:
    switch = purged.plugin_dir / f"{CLICKHOUSE}.fail"
    purged.fail_package(CLICKHOUSE, "always")
    for _ in range(2):
        ran = await violet(purged, CLICKHOUSE)
        assert ran.exit_status == 1
        assert f"sandbox fault switch {switch.name}: always" in ran.stderr
    assert switch.exists()
    assert await catalog(purged) == set()

    purged.fail_package(CLICKHOUSE, None)
    assert not switch.exists()
    assert (await violet(purged, CLICKHOUSE)).exit_status == 0


async def test_violet_answers_a_missing_package_or_flag_with_an_error(box: Sandbox) -> None:
    missing = await violet(box, "nowhere.amd64.v1.0.0.tgz")
    assert missing.exit_status == 1
    assert missing.stderr.startswith("Error: open ") and "no such file or directory" in missing.stderr
    no_flags = await on_node(box, "violet", "push", f"plugins/{CLICKHOUSE}")
    assert no_flags.exit_status == 1
    assert 'required flag(s) "platform-address", "platform-username", "platform-password" not set' in (
        no_flags.stderr
    )


async def test_the_environment_names_the_platform_for_violet(box: Sandbox) -> None:
    env = box.environment("socket")
    assert env["REGCLEAN_PLATFORM_URL"] == box.platform_url
    assert env["REGCLEAN_PLATFORM_USERNAME"] == box.platform_username
    assert env["REGCLEAN_PLATFORM_PASSWORD"] == box.platform_password
    assert PLATFORM_CANARY in box.platform_password
    assert env["REGCLEAN_INSTALLER_DIR"] == str(box.installer_dir.resolve())
    assert (box.installer_dir / "res" / "upload.sh").is_file()
    assert box.violet.parent == box.nodes.nodes[INSTALLER_NODE].bin_dir
