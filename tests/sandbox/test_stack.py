"""The sandbox as the bot finds it: registry content, the registry pods' restart, the MinIO pod's
`mc`, and the installer's plugin packages, each checked through the clients the bot uses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.stream import stream

from actions.inventory import InventoryRequest, record_inventory
from actions.kube import KubeClient
from actions.packages import coverage
from actions.plugin_dir import BAD_NAME, list_packages, read_plugin_dir
from actions.registry import RegistryClient, RegistryTarget
from actions.ssh import SshTarget
from sandbox.kube import KubeApiServer
from sandbox.kube.fixtures import load_fixture
from sandbox.pods import REGISTRY_SELECTOR, RegistryPods
from sandbox.registry import registry_binary, skopeo_binary
from sandbox.registry.images import layout_blobs, make_oci_layout
from sandbox.registry.seed import LAYER_SIZE, image_seed
from sandbox.stack import INSTALLER_NODE, Sandbox
from tests.present import present

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        registry_binary() is None, reason="docker-registry is not installed (Debian package docker-registry)"
    ),
    pytest.mark.skipif(skopeo_binary() is None, reason="skopeo is not installed (Debian package skopeo)"),
]

GONE = "registry-6f9c8d7b5-2xk8q"
KEPT = {"registry-6f9c8d7b5-h4t9m", "registry-6f9c8d7b5-zr7wc"}


@pytest.fixture
def box(sandbox: Sandbox) -> Sandbox:
    """The started sample sandbox (tests/conftest.py), by a name that leaves `sandbox` to the package."""
    return sandbox


@contextmanager
def core_api(kubeconfig: Path) -> Iterator[client.CoreV1Api]:
    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        yield client.CoreV1Api(api_client)
    finally:
        api_client.close()


def kubeconfig(box: Sandbox) -> Path:
    return box.kube.write_kubeconfig(box.workdir / "test-kubeconfig")


def exec_in(box: Sandbox, pod: str, command: list[str]) -> tuple[int | None, str, str]:
    """`kubectl exec` with the Python client, as the bot does it: (exit code, stdout, stderr)."""
    with core_api(kubeconfig(box)) as api:
        ws = stream(
            api.connect_get_namespaced_pod_exec,
            pod,
            "kube-system",
            command=command,
            stderr=True,
            stdout=True,
            stdin=False,
            tty=False,
            _preload_content=False,
        )
        try:
            ws.run_forever(timeout=60)
            return ws.returncode, ws.read_stdout(timeout=0), ws.read_stderr(timeout=0)
        finally:
            ws.close()
            # When the server closed first, WebSocket.close() returns early and leaves the socket open.
            if ws.sock is not None:
                ws.sock.shutdown()


def mc_script(box: Sandbox, then: str) -> list[str]:
    env = box.environment("http")
    return [
        "sh",
        "-c",
        f". {env['REGCLEAN_MINIO_ENV_FILE']} && "
        f'mc --insecure alias set minio {env["REGCLEAN_MINIO_URL"]} "$MINIO_ACCESS_KEY" "$MINIO_SECRET_KEY" && '
        f"mc --insecure {then}",
    ]


async def blob_status(box: Sandbox, reference: str) -> int:
    """HEAD of the image's first layer blob, as a client that skips uploads would ask."""
    repo = reference.rpartition(":")[0]
    layer = layout_blobs(
        make_oci_layout(box.workdir / "probe", layers=1, layer_size=LAYER_SIZE, seed=image_seed(reference))
    )[1]
    async with (
        aiohttp.ClientSession(headers=box.registry.auth_headers()) as session,
        session.head(f"{box.registry.url}/v2/{repo}/blobs/{layer}") as resp,
    ):
        return resp.status


def ready(pod: dict[str, Any] | None) -> bool:
    conditions = ((pod or {}).get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


async def test_the_registry_holds_the_workloads_images_and_old_tags(box: Sandbox) -> None:
    env = box.environment("http")
    target = RegistryTarget(
        env["REGCLEAN_REGISTRY"],
        env["REGCLEAN_REGISTRY_USERNAME"],
        env["REGCLEAN_REGISTRY_PASSWORD"],
        insecure=True,
    )
    async with RegistryClient(target) as registry:
        record = await registry.record()
    assert set(record.repositories["acp/archon"]) == {"v4.1.0", "v4.2.5"}
    assert record.repositories["acp/core"] == ("latest",)
    assert record.repositories["retail/order-service"] == ("1.4.2",)
    assert record.repositories["3rdparty/registry"] == ("2.8.3",)
    assert sorted(f"{repo}:{tag}" for repo, tags in record.repositories.items() for tag in tags) == box.images

    archon = box.kube.objects("pods", "cpaas-system")[0]
    assert archon["spec"]["containers"][0]["image"] == f"{box.registry.address}/acp/archon:v4.2.5"
    storefront = present(box.kube.get("pods", "retail-prod", "storefront-7f6d5c4b3-9zqwe"))
    assert storefront["spec"]["containers"][0]["image"] == "docker.io/library/nginx:1.27.4"


async def test_the_purge_command_empties_the_bucket_from_the_minio_pod(box: Sandbox) -> None:
    before = box.s3.object_count()
    assert before > 50

    listed = await asyncio.to_thread(
        exec_in, box, "minio-0", mc_script(box, "ls --recursive minio/registry/")
    )
    assert listed[0] == 0, listed[2]
    assert listed[1].splitlines()[0] == "Added `minio` successfully."
    assert len(listed[1].splitlines()) == 1 + before
    assert "docker/registry/v2/repositories/acp/archon/_manifests/tags/v4.2.5/current/link" in listed[1]

    code, out, err = await asyncio.to_thread(
        exec_in, box, "minio-0", mc_script(box, "rm --recursive --force minio/registry/")
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Added `minio` successfully."
    assert len(lines) == 1 + before
    assert all(line.startswith("Removed `minio/registry/docker/registry/v2/") for line in lines[1:])
    assert box.s3.object_count() == 0
    assert box.minio_secret not in out + err


async def test_every_minio_pod_serves_the_same_bucket(box: Sandbox) -> None:
    """One MinIO pod per control-plane node, as ACP runs it: each lists the one bucket."""
    objects = box.s3.object_count()
    for pod in ("minio-0", "minio-1", "minio-2"):
        code, out, err = await asyncio.to_thread(
            exec_in,
            box,
            pod,
            ["sh", "-c", 'echo "$HOSTNAME" && ' + mc_script(box, "ls --recursive minio/registry/")[2]],
        )
        assert (code, err) == (0, "")
        lines = out.splitlines()
        assert lines[0] == pod and len(lines) == 2 + objects


async def test_only_the_minio_pod_can_exec(box: Sandbox) -> None:
    with pytest.raises(ApiException):
        await asyncio.to_thread(exec_in, box, "coredns-7db6d8ff4d-5kq2n", ["true"])


async def test_deleting_a_registry_pod_restarts_the_registry_and_a_replacement_turns_ready(
    box: Sandbox,
) -> None:
    image = "acp/archon:v4.2.5"
    assert await blob_status(box, image) == 200
    box.s3.empty_bucket()
    assert await blob_status(box, image) == 200, "the hazard: the cache still answers for the emptied bucket"

    with core_api(kubeconfig(box)) as api:
        gone = await asyncio.to_thread(api.delete_namespaced_pod, GONE, "kube-system")
        assert present(gone.metadata).deletion_timestamp is not None

        def ready_replacement() -> Any:
            pods = api.list_namespaced_pod("kube-system", label_selector=REGISTRY_SELECTOR).items
            assert GONE not in {present(p.metadata).name for p in pods}
            assert len(pods) == 3, "one replacement, at once, not Ready until the registry is back"
            new = next(p for p in pods if present(p.metadata).name not in KEPT)
            conditions = present(present(new.status).conditions)
            return new if any(c.type == "Ready" and c.status == "True" for c in conditions) else None

        await box.registry_pods.wait_idle()  # the deletion queued the restart before the API answered
        pod = await asyncio.to_thread(ready_replacement)
        assert pod is not None, "the replacement is Ready once the restart is done"
    assert pod.metadata.name.startswith("registry-6f9c8d7b5-")
    assert pod.metadata.uid != present(gone.metadata).uid
    assert pod.metadata.labels == present(gone.metadata).labels
    assert pod.status.container_statuses[0].ready is True
    assert box.registry_pods.restarts == 1
    assert await blob_status(box, image) == 404, "the restarted registry forgot the blobs"


async def test_a_replacement_stays_not_ready_until_a_restart_after_its_deletion(tmp_path: Path) -> None:
    class HeldRegistry:
        """Stands in for the registry process: each restart waits until the test lets it finish."""

        def __init__(self) -> None:
            self.restarts = 0
            self.started = asyncio.Event()
            self.release = asyncio.Event()
            # what the pods' container statuses read of the process (as `Registry` has them)
            self.starts, self.pid, self.started_at = 1, 4242, None

        async def restart(self) -> None:
            self.restarts += 1
            self.started.set()
            await self.release.wait()
            self.starts += 1

    kube = KubeApiServer(load_fixture().objects)
    registry = HeldRegistry()
    pods = RegistryPods(kube, registry)  # type: ignore[arg-type]
    kube.on_pod_deleted = pods.on_pod_deleted
    await kube.start()
    try:
        with core_api(kube.write_kubeconfig(tmp_path / "kubeconfig")) as api:
            await asyncio.to_thread(api.delete_namespaced_pod, GONE, "kube-system")
            await asyncio.to_thread(api.delete_namespaced_pod, "registry-gc-29153280-q8v2d", "kube-system")
            await registry.started.wait()
            assert registry.restarts == 1
            await asyncio.to_thread(api.delete_namespaced_pod, "registry-6f9c8d7b5-h4t9m", "kube-system")
            first, second = pods.replacements
            assert not ready(kube.get("pods", "kube-system", first))
            assert not ready(kube.get("pods", "kube-system", second))
            assert present(kube.get("pods", "kube-system", first))["status"]["phase"] == "Pending"

            registry.release.set()
            await pods.wait_idle()
    finally:
        await pods.stop()
        await kube.stop()
    assert ready(kube.get("pods", "kube-system", first))
    assert ready(kube.get("pods", "kube-system", second))
    assert registry.restarts == 2, "the second deletion came during the first restart, so it needs its own"
    assert len(pods.replacements) == 2, "the garbage-collect job's pod is not the registry"


async def test_the_installer_packages_cover_every_installed_operator_and_plugin(box: Sandbox) -> None:
    kube = KubeClient.from_config(str(kubeconfig(box)))

    async def progress(_: object) -> None:
        return None

    try:
        inventory = await record_inventory(kube, InventoryRequest(), progress)
    finally:
        kube.close()
    node = box.nodes.nodes[INSTALLER_NODE]
    target = SshTarget(
        INSTALLER_NODE, node.port, "root", box.nodes.keys.client_key, box.nodes.keys.known_hosts
    )
    read = await read_plugin_dir(target, str(box.plugin_dir))
    assert list(read.files) == box.packages == sorted(spec.file for spec in box.package_specs)
    assert {
        "envoy-gateway-operator.tgz",
        "plugins-volcano-v4.2.3-hybrid.tgz",
        "topolvm-operator.v2.3.0.tgz",
    } < set(read.files), "named as shipped"
    assert read.verification.failed == read.verification.missing == ()
    assert len(read.verification.gpg) + len(read.verification.checksum) == len(read.files)
    topolvm = next(s for s in read.shown if s.file == "topolvm-operator.v2.3.0.tgz")
    assert (topolvm.name, topolvm.type, topolvm.version) == ("NativeStor", "bundle", "2.3.0")
    assert topolvm.artifact == "build-harbor.alauda.cn/acp/topolvm-operator-bundle:v3.11.0"
    result = coverage(inventory, read.shown)
    # Only the EDGE case of the sample stays uncovered: Installed, with no installedCSV to match.
    assert [(u.kind, u.what) for u in result.uncovered] == [("operator", "global/tektoncd-operator")]
    assert result.unshowable == ()

    (box.plugin_dir / "clickhouse-operator.v4.2.0.tgz").unlink()
    (box.plugin_dir / "plugins-volcano-v4.2.3-hybrid.tgz").unlink()
    box.corrupt_package("cilium-v4.2.17.tgz")
    box.break_verification("kafka-operator.v4.1.8.tgz", "mismatch")
    box.break_verification("hami-v2.5.1.tgz", "missing")
    again = await read_plugin_dir(target, str(box.plugin_dir))
    missing = coverage(inventory, again.shown)
    assert {(u.what, u.wanted) for u in missing.uncovered} >= {
        ("global/clickhouse-operator", "clickhouse-operator v4.2.0"),
        ("volcano on global", "volcano v4.2.3"),
        ("volcano on business-1", "volcano v4.2.3"),
    }
    assert [(s.file, s.error) for s in missing.unshowable] == [
        ("cilium-v4.2.17.tgz", "Error: invalid package cilium-v4.2.17.tgz: gzip: invalid header")
    ]
    assert set(again.verification.failed) == {"cilium-v4.2.17.tgz", "kafka-operator.v4.1.8.tgz"}
    assert again.verification.missing == ("hami-v2.5.1.tgz",)

    # A name with a line break stays one name, unshowable, and never lists a package that is not there.
    (box.plugin_dir / "topolvm-operator.v2.3.0.tgz").rename(
        box.plugin_dir / "junk\ntopolvm-operator.v2.3.0.tgz"
    )
    odd = await read_plugin_dir(target, str(box.plugin_dir))
    assert "topolvm-operator.v2.3.0.tgz" not in odd.files and "junk" not in odd.files
    assert ("$'junk\\ntopolvm-operator.v2.3.0.tgz'", BAD_NAME) in [(s.file, s.error) for s in odd.shown]
    assert "$'junk\\ntopolvm-operator.v2.3.0.tgz'" in {
        s.file for s in coverage(inventory, odd.shown).unshowable
    }
    listed = await list_packages(target, str(box.plugin_dir))
    assert "junk\ntopolvm-operator.v2.3.0.tgz" in listed and "topolvm-operator.v2.3.0.tgz" not in listed


async def test_the_environment_points_the_bot_at_the_sandbox(box: Sandbox) -> None:
    env = box.environment("socket")
    env_file = Path(env["REGCLEAN_MINIO_ENV_FILE"])
    assert env_file.read_text() == (
        f"export MINIO_ACCESS_KEY={box.minio_access_key}\nexport MINIO_SECRET_KEY={box.minio_secret}\n"
    )
    assert "CANARY" in box.minio_secret
    assert env["REGCLEAN_MINIO_URL"] == box.s3.url
    assert (
        Path(env["REGCLEAN_INSTALLER_DIR"])
        == box.nodes.nodes[env["REGCLEAN_INSTALLER_NODE"]].root / "cpaas" / "installer"
    )
    assert env["REGCLEAN_REGISTRY_SELECTOR"] == "app=registry,component=registry"
    assert env["REGCLEAN_MINIO_SELECTOR"] == "app=minio"
