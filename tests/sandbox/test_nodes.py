"""The sandbox's control-plane nodes, checked with a real asyncssh client, GNU tar and OpenSSH's sshd."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import socket
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncssh
import pytest

from sandbox.nodes import (
    MinioScanner,
    OpenSshServer,
    SandboxCluster,
    SandboxNode,
    generate_keys,
    populate_minio,
    populate_minio_bytes,
    tree_stats,
    write_known_hosts,
)
from sandbox.nodes.keys import write_private_key

ADDRESSES = ("127.0.0.11", "127.0.0.12", "127.0.0.13")


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[SandboxCluster]:
    nodes = SandboxCluster(tmp_path / "cluster")
    await nodes.start()
    yield nodes
    await nodes.stop()


@pytest.fixture
def node(cluster: SandboxCluster) -> SandboxNode:
    return cluster.nodes["127.0.0.11"]


def connect(cluster: SandboxCluster, node: SandboxNode, **options: Any) -> Any:
    """asyncssh.connect as the bot does it: the client key, and host keys checked against known_hosts."""
    defaults: dict[str, Any] = {
        "username": "root",
        "client_keys": [str(cluster.keys.client_key)],
        "known_hosts": str(cluster.keys.known_hosts),
        "connect_timeout": 10,
    }
    return asyncssh.connect(node.address, node.port, **(defaults | options))


async def read_until_lost(stream: asyncssh.SSHReader[bytes]) -> tuple[bytes, BaseException | None]:
    """Everything the stream delivers, and the error that ended it (None on a clean EOF)."""
    received = b""
    try:
        while chunk := await stream.read(65536):
            received += chunk
    except (OSError, asyncssh.Error) as err:
        return received, err
    return received, None


async def wait_exited(pid: int) -> None:
    """Return once the process is gone: its pidfd turns readable when it terminates."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    loop = asyncio.get_running_loop()
    gone: asyncio.Future[None] = loop.create_future()

    def exited() -> None:
        if not gone.done():
            gone.set_result(None)

    loop.add_reader(fd, exited)
    try:
        await gone
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def is_running(pid: int) -> bool:
    """Alive and not a zombie waiting to be reaped (a zombie has already stopped running)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


# --- commands ---------------------------------------------------------------------------------------


async def test_a_command_runs_in_the_node_tree_and_returns_its_exit_status(cluster, node) -> None:
    node.minio_dir.mkdir(parents=True)
    (node.minio_dir / "marker").write_text("here")
    command = "pwd; cat cpaas/minio/marker; echo; echo oops >&2; exit 3"
    async with connect(cluster, node) as conn:
        result = await conn.run(command)
    assert result.exit_status == 3
    assert result.stdout == f"{node.root}\nhere\n"
    assert result.stderr == "oops\n"
    assert node.commands == [command]


async def test_a_script_on_stdin_runs_with_its_arguments(cluster, node) -> None:
    script = 'printf "%s|" "$@"; echo "$HOME $LC_ALL"; exit 4\n'
    async with connect(cluster, node) as conn:
        result = await conn.run("bash -s -- alpha 'two words'", input=script)
    assert result.exit_status == 4
    assert result.stdout == f"alpha|two words|{node.root} C\n"


async def test_output_streams_while_the_command_still_runs(cluster, node) -> None:
    # The command cannot finish before the client answers, so the first line must arrive on its own.
    async with connect(cluster, node) as conn:
        process = await conn.create_process('echo first; read reply; echo "second $reply" >&2')
        assert await process.stdout.readline() == "first\n"
        assert process.exit_status is None
        process.stdin.write("hello\n")
        assert await process.stderr.readline() == "second hello\n"
        result = await process.wait()
    assert result.exit_status == 0


async def test_bytes_pass_unchanged_both_ways(cluster, node) -> None:
    blob = bytes(range(256)) * 64 + b"\xff\xfe no newline at the end \x00"
    async with connect(cluster, node) as conn:
        result = await conn.run("cat", input=blob, encoding=None)
    assert result.stdout == blob


async def test_a_command_killed_by_a_signal_reports_an_exit_signal(cluster, node) -> None:
    async with connect(cluster, node) as conn:
        result = await conn.run("kill -TERM $$")
    assert result.exit_signal is not None and result.exit_signal[0] == "TERM"
    assert result.exit_status != 0


async def test_a_dropped_client_connection_kills_the_running_command(cluster, node) -> None:
    async with connect(cluster, node) as conn:
        process = await conn.create_process("echo $$; exec sleep 60")
        pid = int(await process.stdout.readline())
        assert is_running(pid)
        conn.abort()
    async with asyncio.timeout(10):
        await wait_exited(pid)
    assert not is_running(pid)


# --- auth and host keys -----------------------------------------------------------------------------


async def test_a_wrong_client_key_is_refused(cluster, node) -> None:
    stranger = asyncssh.generate_private_key("ssh-ed25519")
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(cluster, node, client_keys=[stranger]):
            pass


async def test_the_right_key_for_another_user_or_a_password_is_refused(cluster, node) -> None:
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(cluster, node, username="admin"):
            pass
    with pytest.raises(asyncssh.PermissionDenied):
        async with connect(cluster, node, client_keys=None, password="root"):
            pass


async def test_a_host_key_missing_from_known_hosts_is_not_verifiable(cluster, node, tmp_path) -> None:
    empty = tmp_path / "empty_known_hosts"
    empty.write_text("")
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with connect(cluster, node, known_hosts=str(empty)):
            pass


async def test_a_replaced_host_key_is_not_verifiable_until_the_fault_is_cleared(
    cluster, node, tmp_path
) -> None:
    impostor = tmp_path / "impostor"
    write_private_key(impostor)
    node.replace_host_key(impostor)
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        async with connect(cluster, node):
            pass
    node.clear_faults()
    async with connect(cluster, node) as conn:
        assert (await conn.run("echo back")).stdout == "back\n"


# --- network faults ---------------------------------------------------------------------------------


async def test_a_refusing_node_keeps_its_port_and_accepts_again_once_cleared(cluster, node) -> None:
    port = node.port
    node.refuse()
    with pytest.raises(ConnectionRefusedError):
        async with connect(cluster, node):
            pass
    with socket.socket() as squatter, pytest.raises(OSError) as taken:
        squatter.bind((node.address, port))
    assert taken.value.errno == errno.EADDRINUSE
    node.clear_faults()
    async with connect(cluster, node) as conn:
        assert (await conn.run("true")).exit_status == 0
    assert node.port == port


async def test_a_blackholed_node_makes_the_connect_time_out(cluster, node) -> None:
    node.blackhole()
    with pytest.raises(TimeoutError):
        async with connect(cluster, node, connect_timeout=1):
            pass
    node.clear_faults()
    async with connect(cluster, node) as conn:
        assert (await conn.run("true")).exit_status == 0


async def test_drop_after_resets_the_connection_after_that_many_bytes_without_an_exit_status(
    cluster, node
) -> None:
    node.drop_after(10_000)
    async with connect(cluster, node) as conn:
        process = await conn.create_process("echo $$; exec yes", encoding=None)
        received, error = await read_until_lost(process.stdout)
        result = await process.wait()
    assert isinstance(error, ConnectionResetError | asyncssh.ConnectionLost), error
    assert len(received) == 10_000
    assert result.exit_status is None and result.exit_signal is None
    # the node kills the command before it resets the connection
    assert not is_running(int(received.split(b"\n", 1)[0]))


async def test_drop_after_spares_a_command_that_prints_less(cluster, node) -> None:
    node.drop_after(10_000)
    async with connect(cluster, node) as conn:
        result = await conn.run("echo short")
    assert (result.stdout, result.exit_status) == ("short\n", 0)


# --- SFTP -------------------------------------------------------------------------------------------


async def test_sftp_downloads_an_archive_from_the_backup_dir(cluster, node, tmp_path) -> None:
    archive = node.backup_dir / "127.0.0.11-minio.tar"
    archive.write_bytes(os.urandom(3 * 2**20 + 17))
    local = tmp_path / "downloaded.tar"
    async with connect(cluster, node) as conn, conn.start_sftp_client() as sftp:
        await sftp.get(str(archive), str(local))
    assert local.read_bytes() == archive.read_bytes()


# --- the cluster ------------------------------------------------------------------------------------


async def test_the_three_nodes_bind_their_own_addresses_with_their_own_roots(cluster) -> None:
    assert sorted(cluster.nodes) == list(ADDRESSES)
    roots = set()
    for address, node in cluster.nodes.items():
        async with connect(cluster, node) as conn:
            assert conn.get_extra_info("peername")[:2] == (address, node.port)
            roots.add((await conn.run("pwd")).stdout.strip())
    assert roots == {str(n.root) for n in cluster.nodes.values()}
    assert len(roots) == 3
    lines = cluster.keys.known_hosts.read_text().splitlines()
    assert [line.split()[0] for line in lines] == [f"[{n.address}]:{n.port}" for n in cluster.nodes.values()]


# --- the MinIO tree ---------------------------------------------------------------------------------


def test_minio_tree_stats_match_find_and_the_file_sizes(tmp_path) -> None:
    minio = tmp_path / "cpaas" / "minio"
    stats = populate_minio(minio, small_files=400, large_files=2, large_size=2**20)
    find = subprocess.run(["find", str(minio)], capture_output=True, text=True, check=True)
    sizes = subprocess.run(
        ["find", str(minio), "-type", "f", "-printf", "%s\\n"], capture_output=True, text=True, check=True
    )
    assert stats == tree_stats(minio)
    assert stats.entries == len(find.stdout.splitlines())
    assert stats.bytes == sum(int(n) for n in sizes.stdout.split())
    assert stats.files == 402
    parts = sorted(minio.rglob("part.1"))
    assert [p.stat().st_size for p in parts] == [2**20, 2**20]
    assert (minio / ".minio.sys" / "format.json").is_file()
    assert (minio / "registry/docker/registry/v2/repositories/acp/core/_manifests/tags").is_dir()


def test_the_minio_tree_is_the_same_for_the_same_seed(tmp_path) -> None:
    def fingerprint(directory: Path) -> list[tuple[str, str]]:
        files = sorted(p for p in directory.rglob("*") if p.is_file())
        return [(str(p.relative_to(directory)), hashlib.sha256(p.read_bytes()).hexdigest()) for p in files]

    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        populate_minio(tmp_path / name, small_files=50, large_files=1, large_size=4096, seed=seed)
    assert fingerprint(tmp_path / "a") == fingerprint(tmp_path / "b")
    assert fingerprint(tmp_path / "a") != fingerprint(tmp_path / "c")


def test_gnu_tar_archives_every_entry_of_the_minio_tree_with_long_names(tmp_path) -> None:
    minio = tmp_path / "cpaas" / "minio"
    stats = populate_minio(minio, small_files=300, large_files=1, large_size=2**20)
    assert any(len(str(p)) > 100 for p in minio.rglob("*"))
    archive = tmp_path / "127.0.0.11-minio.tar"
    subprocess.run(["tar", "-cf", str(archive), str(minio)], capture_output=True, check=True)
    listing = subprocess.run(["tar", "-tvf", str(archive)], capture_output=True, text=True, check=True)
    assert len(listing.stdout.splitlines()) == stats.entries
    assert b"././@LongLink" in archive.read_bytes()  # GNU tar's header for names over 100 bytes
    assert archive.stat().st_size > stats.bytes


def test_populate_minio_bytes_writes_exactly_the_requested_files_and_bytes(tmp_path) -> None:
    stats = populate_minio_bytes(tmp_path / "minio", total_bytes=8 * 2**20 + 3, files=101)
    assert (stats.files, stats.bytes) == (101, 8 * 2**20 + 3)
    assert stats == tree_stats(tmp_path / "minio")
    with pytest.raises(ValueError):
        populate_minio_bytes(tmp_path / "tiny", total_bytes=100, files=10)


# --- a real OpenSSH sshd ----------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.skipif(OpenSshServer.available() is not None, reason=str(OpenSshServer.available()))
async def test_a_real_sshd_runs_a_command_and_serves_sftp_to_the_bot_key(tmp_path) -> None:
    address = "127.0.0.11"
    keys = generate_keys(tmp_path / "keys", [address])
    sshd = OpenSshServer(address, tmp_path / "sshd", keys.host_keys[address], keys.client_public)
    await sshd.start()
    try:
        write_known_hosts(keys.known_hosts, [(address, sshd.port, keys.host_keys[address])])
        payload = tmp_path / "backup.tar"
        payload.write_bytes(os.urandom(256 * 1024))
        options = {"username": "root", "client_keys": [str(keys.client_key)], "connect_timeout": 10}
        async with asyncssh.connect(address, sshd.port, known_hosts=str(keys.known_hosts), **options) as conn:
            result = await conn.run("echo ok")
            async with conn.start_sftp_client() as sftp:
                await sftp.get(str(payload), str(tmp_path / "got.tar"))
        assert (result.stdout, result.exit_status) == ("ok\n", 0)
        assert (tmp_path / "got.tar").read_bytes() == payload.read_bytes()
        write_known_hosts(keys.known_hosts, [])
        with pytest.raises(asyncssh.HostKeyNotVerifiable):
            async with asyncssh.connect(address, sshd.port, known_hosts=str(keys.known_hosts), **options):
                pass
    finally:
        await sshd.stop()


# --- MinIO's writers --------------------------------------------------------------------------------


@pytest.mark.skipif(os.geteuid() != 0, reason="the fanotify gate needs root (CI runs as root)")
def test_the_scanner_saves_its_caches_the_way_minio_does_while_a_reader_waits(tmp_path: Path) -> None:
    minio, backup = tmp_path / "cpaas" / "minio", tmp_path / "cpaas" / "backup"
    backup.mkdir(parents=True)
    populate_minio(minio, small_files=50, large_files=1, large_size=2**16)
    scanner = MinioScanner(minio, backup, interval=3600)  # only what opens the cache makes it save
    scanner.start()
    try:
        usage = minio / ".minio.sys" / "buckets" / ".usage.json" / "xl.meta"
        before = usage.stat().st_ino
        (backup / ".x.tar.partial-0123abcd").write_bytes(b"")  # as if a backup's tar were writing
        [part] = (minio / ".minio.sys" / "buckets" / "registry" / ".usage-cache.bin").glob("*/part.1")
        with part.open("rb"):  # the open waits until the scanner has saved
            assert usage.stat().st_ino != before, "a new xl.meta was renamed over the old one"
        assert scanner.saves >= 1 and scanner.saves_during_backup >= 1
    finally:
        scanner.stop()
    # once it has stopped (a save may have been under way until then):
    assert not list((minio / ".minio.sys" / "tmp").glob("*-*-*")), "staging directories are gone"
    assert list((minio / ".minio.sys" / "tmp" / ".trash").iterdir()), "what it replaced went to the trash"
    saves = scanner.saves
    with part.open("rb"):  # stopped: nothing waits, nothing saves
        pass
    assert scanner.saves == saves and not scanner.running
