"""The installer's stand-ins on the sandbox's installer node, run over SSH as the bot runs them:
`res/upload.sh` and `violet push` push real images with skopeo, `violet show` and `violet verify`
print what Alauda's documentation shows, all fail as the real ones do, and carry the fault
switches the preflight and restore tests use. That the core and every package together bring back
all but the old tags and the custom images is proven on the demo's runbook, which restores them
through regclean and then lists and pulls the registry with skopeo (tests/scenarios/test_demo.py)."""

from __future__ import annotations

import shlex
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncssh
import pytest
import yaml

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

CLICKHOUSE = "clickhouse-operator.v4.2.0.tgz"
CLICKHOUSE_IMAGES = {"acp/clickhouse-operator-bundle:v4.2.0", "ait/clickhouse-operator:v4.2.0"}
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


async def violet(
    box: Sandbox,
    package: str,
    password: str | None = None,
    address: str | None = None,
    token: str | None = None,
) -> Ran:
    login = (
        ["--platform-token", token]
        if token
        else [
            "--platform-username",
            box.platform_username,
            "--platform-password",
            password or box.platform_password,
        ]
    )
    return await on_node(
        box,
        "violet",
        "push",
        str(box.plugin_dir / package),
        "--platform-address",
        address or box.platform_url,
        *login,
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
    assert set(purged.package_images[CLICKHOUSE]) == CLICKHOUSE_IMAGES, "the bundle and the operator's image"
    assert await catalog(purged) == CLICKHOUSE_IMAGES
    await pull(purged.registry, "ait/clickhouse-operator:v4.2.0", tmp_path / "operator")


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
    assert await catalog(purged) == CLICKHOUSE_IMAGES


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
    missing = await violet(box, "nowhere.v1.0.0.tgz")
    assert missing.exit_status == 1
    assert missing.stderr.startswith("Error: open ") and "no such file or directory" in missing.stderr
    no_flags = await on_node(box, "violet", "push", f"plugins/{CLICKHOUSE}")
    assert (no_flags.exit_status, no_flags.stderr) == (
        1,
        'Error: required flag(s) "platform-address" not set\n',
    )
    no_login = await on_node(
        box, "violet", "push", f"plugins/{CLICKHOUSE}", "--platform-address", box.platform_url
    )
    assert (
        "at least one of the flags in the group [platform-token platform-username] is required"
        in no_login.stderr
    )
    half = await on_node(
        box, "violet", "push", f"plugins/{CLICKHOUSE}", "--platform-address", "u", "--platform-username", "a"
    )
    assert "are set they must all be set; missing [platform-password]" in half.stderr


async def test_the_environment_names_the_platform_for_violet(box: Sandbox) -> None:
    env = box.environment("socket")
    assert env["REGCLEAN_PLATFORM_URL"] == box.platform_url
    assert env["REGCLEAN_PLATFORM_USERNAME"] == box.platform_username
    assert env["REGCLEAN_PLATFORM_PASSWORD"] == box.platform_password
    assert PLATFORM_CANARY in box.platform_password
    assert env["REGCLEAN_INSTALLER_DIR"] == str(box.installer_dir.resolve())
    assert (box.installer_dir / "res" / "upload.sh").is_file()
    assert box.violet.parent == box.nodes.nodes[INSTALLER_NODE].bin_dir


async def test_violet_push_takes_the_platform_token_instead_of_username_and_password(purged: Sandbox) -> None:
    ran = await violet(purged, CLICKHOUSE, token=purged.platform_token)
    assert ran.exit_status == 0, ran.stderr
    assert await catalog(purged) == CLICKHOUSE_IMAGES
    wrong = await violet(purged, CLICKHOUSE, token="not-the-token")
    assert (wrong.exit_status, wrong.stderr) == (1, "Error: authentication failed: 401 Unauthorized\n")
    both = await on_node(
        purged, "violet", "push", f"plugins/{CLICKHOUSE}", "--platform-address", purged.platform_url,
        "--platform-token", purged.platform_token,
        "--platform-username", purged.platform_username, "--platform-password", purged.platform_password,
    )  # fmt: skip
    assert both.exit_status == 1
    assert both.stderr == (
        "Error: if any flags in the group [platform-token platform-username] are set none of the others can be; "
        "[platform-token platform-username] were all set\n"
    )
    assert PLATFORM_CANARY in purged.platform_token


async def test_violet_show_prints_the_documented_format_of_what_is_inside_the_package(box: Sandbox) -> None:
    short = await on_node(box, "violet", "show", "plugins/topolvm-operator.v2.3.0.tgz")
    assert (short.exit_status, short.stdout) == (
        0,
        "Name: NativeStor\nType: bundle\nArch: [linux/amd64]\nVersion: 2.3.0\n",
    )
    full = await on_node(box, "violet", "show", "plugins/topolvm-operator.v2.3.0.tgz", "--all")
    assert full.stdout.splitlines() == [
        "Name: NativeStor",
        "Type: bundle",
        "Arch: []",
        "Version: 2.3.0",
        "Artifact: build-harbor.alauda.cn/acp/topolvm-operator-bundle:v3.11.0",
        "RelateImages: [build-harbor.alauda.cn/acp/topolvm-operator:v3.11.0 build-harbor.alauda.cn/acp/topolvm:v3.11.0 "
        "build-harbor.alauda.cn/3rdparty/k8scsi/csi-provisioner:v3.00]",
    ]
    plugin = await on_node(box, "violet", "show", "plugins/plugins-volcano-v4.2.3-hybrid.tgz", "--all")
    assert (
        "Type: moduleplugin" in plugin.stdout
        and "Artifact: build-harbor.alauda.cn/acp/chart-volcano:v4.2.3" in (plugin.stdout)
    )


async def test_violet_show_refuses_a_missing_or_cut_package_as_violet_does(box: Sandbox) -> None:
    missing = await on_node(box, "violet", "show", "plugins/nowhere.tgz")
    assert (missing.exit_status, missing.stdout) == (1, "")
    assert missing.stderr == "Error: open plugins/nowhere.tgz: no such file or directory\n"
    box.corrupt_package("cilium-v4.2.17.tgz")
    cut = await on_node(box, "violet", "show", "plugins/cilium-v4.2.17.tgz", "--all")
    assert (cut.exit_status, cut.stderr) == (
        1,
        "Error: invalid package cilium-v4.2.17.tgz: gzip: invalid header\n",
    )
    extra = await on_node(box, "violet", "show", "a.tgz", "b.tgz")
    assert "accepts 1 arg(s), received 2" in extra.stderr


async def test_violet_verify_sorts_packages_by_their_verification_file(box: Sandbox) -> None:
    clean = await on_node(box, "violet", "verify", "plugins")
    assert clean.exit_status == 0, clean.stderr
    lines = clean.stdout.splitlines()
    assert lines[:2] == [f"verify path: {box.plugin_dir}", "====== Verification Summary ======"]
    assert (
        f"Verified successfully with GPG: {sum(s.type == 'bundle' for s in box.package_specs)} file(s)"
        in lines
    )
    assert "Verification failed: 0 file(s)" in lines and "No verification file found: 0 file(s)" in lines

    box.break_verification("kafka-operator.v4.1.8.tgz", "mismatch")
    box.break_verification("hami-v2.5.1.tgz", "mismatch")
    box.break_verification("metallb-v4.2.0.tgz", "missing")
    broken = await on_node(box, "violet", "verify", "plugins")
    assert broken.exit_status == 1 and broken.stderr == "Error: 2 file(s) failed verification\n"
    text = broken.stdout
    failed = text[text.index("Verification failed: 2 file(s)") : text.index("No verification file found")]
    assert f"  - {box.plugin_dir / 'hami-v2.5.1.tgz'}" in failed
    assert f"  - {box.plugin_dir / 'kafka-operator.v4.1.8.tgz'}" in failed
    assert text.rstrip().endswith(
        f"No verification file found: 1 file(s)\n  - {box.plugin_dir / 'metallb-v4.2.0.tgz'}"
    )
    one = await on_node(box, "violet", "verify", "plugins/velero-v4.2.1.tgz")
    assert "Verified successfully with checksum: 1 file(s)" in one.stdout and one.exit_status == 0


async def test_violet_list_prints_the_installed_applications_as_the_documented_yaml(box: Sandbox) -> None:
    login = ["--platform-address", box.platform_url, "--platform-token", box.platform_token]
    ran = await on_node(
        box, "violet", "list", *login, "--clusters", "business-1", "--output-file", "/dev/null"
    )
    assert ran.exit_status == 0, ran.stderr
    assert ran.stderr == f"Logged in to {box.platform_url} as {box.platform_username}\n"
    listed = yaml.safe_load(ran.stdout)["applications"]
    assert listed["clickhouse-operator"] == {
        "displayName": "ClickHouse",
        "type": "OperatorBundle",
        "installed": [{"clusterName": "business-1", "version": "4.1.3"}],
    }
    assert listed["volcano"]["type"] == "ModulePlugin" and listed["volcano"]["installed"] == [
        {"clusterName": "business-1", "version": "v4.2.3"}
    ]
    assert "cert-manager" not in listed, "core plugins follow the cluster upgrade, not violet list"
    assert "      - clusterName: business-1\n" in ran.stdout, "sequences indented as violet writes them"
    written = await on_node(box, "violet", "list", *login)
    assert written.exit_status == 0 and (box.installer_dir / "apps.yaml").read_text() == written.stdout
    refused = await on_node(
        box, "violet", "list", "--platform-address", box.platform_url, "--platform-token", "no"
    )
    assert (refused.exit_status, refused.stdout) == (1, "") and "401 Unauthorized" in refused.stderr
