"""upload.sh and violet push on a sandbox SSH node, with fake vendor scripts that echo the password."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from actions.errors import ActionError, NodeUnreachable
from actions.restore import LineSink, RestoreOutcome, run_upload, violet_push
from sandbox.nodes import SandboxCluster, SandboxNode
from tests.integration.conftest import target

PASSWORD = "Pa$$ w'rd\"CANARY"
USER = "o'neil $(touch pwned)"
REGISTRY = "192.0.2.10:11443"
PLATFORM = "https://acp.example:8443"
PIECES = (PASSWORD, "CANARY", "w'rd", base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode())
"""The password, parts of it that no quoting splits, and the basic-auth token it makes."""

# Stand-ins for the vendor's tools: they record their exact arguments (and upload.sh its working
# directory) and echo the password the ways scripts do: xtrace, plain, on stderr, printf %q, and
# in an HTTP basic-auth header.
FAKE_UPLOAD = r"""
printf '%s\0' "$@" > "$HOME/upload-args"
pwd > "$HOME/upload-cwd"
set -x
: upload "$@"
{ set +x; } 2>/dev/null
echo "logging in to $2 as $3 with password $4"
echo "login failed for $3/$4" >&2
printf 'quoted: %q\n' "$4"
echo "Authorization: Basic $(printf '%s:%s' "$3" "$4" | base64 -w0)"
"""

FAKE_VIOLET = r"""
printf '%s\0' "$@" > "$HOME/violet-args"
set -x
: violet "$@"
{ set +x; } 2>/dev/null
echo "pushing $2 to $4 as $6"
echo "error: $6:$8 rejected" >&2
exit "$(cat "$HOME/violet-exit" 2>/dev/null || echo 0)"
"""


def install(path: Path, body: str) -> Path:
    """Write an executable bash script."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/bash\n" + body)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


class Lines:
    """The on_line sink: keeps every line it got."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    async def __call__(self, line: str) -> None:
        self.seen.append(line)


@dataclass
class Rig:
    """One started sandbox node (127.0.0.11), and the restore commands run on it."""

    cluster: SandboxCluster
    node: SandboxNode

    @property
    def installer(self) -> Path:
        return self.node.root / "cpaas" / "installer"

    @property
    def package(self) -> str:
        path = self.installer / "plugins" / "clickhouse-operator.v4.2.0.tgz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"not really a tarball")
        return str(path)

    def install_upload(self, body: str = FAKE_UPLOAD) -> Path:
        return install(self.installer / "res" / "upload.sh", body)

    def args(self, name: str) -> list[str]:
        """The arguments a fake tool recorded, exactly."""
        return [a.decode() for a in (self.node.root / name).read_bytes().split(b"\0")[:-1]]

    async def upload(
        self, lines: LineSink, *, mode: str = "all", password: str = PASSWORD, **target_overrides: object
    ) -> RestoreOutcome:
        reach = target(self.cluster, self.node, **target_overrides)
        return await run_upload(reach, str(self.installer), mode, REGISTRY, USER, password, lines)

    async def push(self, lines: LineSink, package: str | None = None, **kwargs: str) -> RestoreOutcome:
        reach = target(self.cluster, self.node)
        return await violet_push(reach, package or self.package, PLATFORM, USER, PASSWORD, lines, **kwargs)

    def assert_no_password(self, outcome: RestoreOutcome, lines: list[str]) -> None:
        shown = [*lines, *outcome.tail, outcome.problem or ""]
        for piece in PIECES:
            assert not [text for text in shown if piece in text], piece
            assert not [command for command in self.node.commands if piece in command], piece


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    cluster = SandboxCluster(tmp_path / "nodes", addresses=("127.0.0.11",))
    await cluster.start()
    yield Rig(cluster, cluster.nodes["127.0.0.11"])
    await cluster.stop()


async def test_upload_gets_the_runbook_arguments_and_every_echo_of_the_password_is_masked(rig: Rig) -> None:
    rig.install_upload()
    lines = Lines()
    outcome = await rig.upload(lines, mode="necessary")

    assert outcome.succeeded and outcome.exit_status == 0 and outcome.problem is None
    assert rig.args("upload-args") == ["necessary", REGISTRY, USER, PASSWORD]
    assert (rig.node.root / "upload-cwd").read_text().strip() == str(rig.installer)
    assert not (rig.node.root / "pwned").exists()
    assert outcome.lines == len(lines.seen) == 5
    assert lines.seen[0] == f"+ : upload necessary {REGISTRY} 'o'\\''neil $(touch pwned)' '••••'"
    assert sorted(lines.seen[1:]) == sorted(
        [
            f"logging in to {REGISTRY} as {USER} with password ••••",
            f"login failed for {USER}/••••",
            "quoted: ••••",
            "Authorization: Basic ••••",
        ]
    )
    assert outcome.tail == tuple(lines.seen)
    rig.assert_no_password(outcome, lines.seen)
    assert len(rig.node.commands) == 1 and rig.node.commands[0].startswith("bash -s -- ")


async def test_a_failing_upload_keeps_a_bounded_masked_tail(rig: Rig) -> None:
    rig.install_upload(FAKE_UPLOAD + 'seq -f "pushing image %g" 3000\necho "denied: $4" >&2\nexit 3\n')
    lines = Lines()
    outcome = await rig.upload(lines)

    assert not outcome.succeeded and outcome.exit_status == 3
    assert outcome.lines == len(lines.seen) == 5 + 3000 + 1
    assert len(outcome.tail) == 20
    # stderr travels apart from stdout and may overtake its last lines, but not leave the tail
    assert set(outcome.tail) == {"denied: ••••"} | {f"pushing image {i}" for i in range(2982, 3001)}
    assert outcome.problem == "127.0.0.11: res/upload.sh all exited with status 3."
    rig.assert_no_password(outcome, lines.seen)


async def test_lines_arrive_while_the_command_still_runs(rig: Rig) -> None:
    gate = rig.node.root / "gate"
    os.mkfifo(gate)
    # Held open for writing, so that the script's open does not block and nothing written is lost.
    writer = os.open(gate, os.O_RDWR | os.O_NONBLOCK)
    rig.install_upload(
        f'echo "waiting for the test"\nread -r word < {gate}\necho "the test said $word" >&2\necho "pass $4"\n'
    )
    order: list[str] = []

    async def on_line(line: str) -> None:
        order.append(line)
        if line == "waiting for the test":
            os.write(writer, b"go\n")  # only a line that arrives before the script's end unblocks it

    try:
        outcome = await rig.upload(on_line, command_timeout=20.0)
    finally:
        os.close(writer)
    assert outcome.exit_status == 0, outcome
    assert order == ["waiting for the test", "the test said go", "pass ••••"]


async def test_a_dropped_connection_leaves_the_outcome_unknown(rig: Rig) -> None:
    rig.install_upload(FAKE_UPLOAD + 'for i in $(seq 1 20000); do echo "pushing image $i with $4"; done\n')
    rig.node.drop_after(30_000)
    lines = Lines()
    outcome = await rig.upload(lines)

    assert outcome.exit_status is None and not outcome.succeeded
    assert 5 < outcome.lines < 20000
    assert outcome.problem is not None and "connection was lost" in outcome.problem
    assert outcome.tail[-1] == f"regclean: {outcome.problem}"
    assert lines.seen[-1].startswith("pushing image ") and lines.seen[-1].endswith(" with ••••")
    rig.assert_no_password(outcome, lines.seen)


async def test_a_command_that_outlives_its_timeout_is_abandoned_with_an_unknown_outcome(rig: Rig) -> None:
    os.mkfifo(rig.node.root / "never")
    rig.install_upload('echo "started with $4"\nread -r _ < "$HOME/never"\n')
    lines = Lines()
    outcome = await rig.upload(lines, command_timeout=1.0, timeout_setting="REGCLEAN_RESTORE_TIMEOUT")

    assert outcome.exit_status is None
    assert outcome.problem is not None and "did not finish within 1 s" in outcome.problem
    assert "(REGCLEAN_RESTORE_TIMEOUT)" in outcome.problem, "the message names the setting to raise"
    assert lines.seen == ["started with ••••"]
    rig.assert_no_password(outcome, lines.seen)


async def test_a_missing_installer_directory_is_named(rig: Rig) -> None:
    lines = Lines()
    outcome = await rig.upload(lines)

    assert outcome.exit_status not in (0, None)
    message = f"the installer directory {rig.installer} does not exist (REGCLEAN_INSTALLER_DIR)."
    assert lines.seen == [f"regclean: {message}"]
    assert outcome.tail == (f"regclean: {message}",)
    assert outcome.problem == f"127.0.0.11: {message}"


async def test_a_missing_upload_script_is_named(rig: Rig) -> None:
    (rig.installer / "res").mkdir(parents=True)
    outcome = await rig.upload(Lines())

    assert outcome.exit_status not in (0, None)
    assert outcome.problem == (
        f"127.0.0.11: {rig.installer}/res/upload.sh does not exist: is {rig.installer} the installer directory?"
    )


async def test_what_the_line_sink_raises_comes_out_as_it_is(rig: Rig) -> None:
    rig.install_upload()

    async def on_line(line: str) -> None:
        raise OSError("the sink is full")  # not to be mistaken for the connection failing

    with pytest.raises(OSError, match="the sink is full"):
        await rig.upload(on_line)


async def test_an_unknown_mode_is_refused_before_connecting(rig: Rig) -> None:
    with pytest.raises(ValueError, match="upload mode"):
        await rig.upload(Lines(), mode="everything")
    assert rig.node.commands == []


async def test_a_password_with_a_line_break_is_refused_without_showing_it(rig: Rig) -> None:
    with pytest.raises(ActionError) as raised:
        await rig.upload(Lines(), password="first\nCANARY-second")
    assert "line break" in str(raised.value) and "CANARY" not in str(raised.value)
    assert rig.node.commands == []


async def test_an_unreachable_node_raises_its_connection_error(rig: Rig) -> None:
    rig.node.refuse()
    with pytest.raises(NodeUnreachable) as raised:
        await rig.upload(Lines())
    assert "127.0.0.11" in str(raised.value)
    assert not [piece for piece in PIECES if piece in str(raised.value)]


async def test_violet_on_the_path_gets_the_runbook_arguments_and_the_password_is_masked(rig: Rig) -> None:
    install(rig.node.bin_dir / "violet", FAKE_VIOLET)
    lines = Lines()
    outcome = await rig.push(lines)

    assert outcome.succeeded, outcome
    flags = ["--platform-address", PLATFORM, "--platform-username", USER, "--platform-password", PASSWORD]
    assert rig.args("violet-args") == ["push", rig.package, *flags]
    assert f"pushing {rig.package} to {PLATFORM} as {USER}" in lines.seen
    assert f"error: {USER}:•••• rejected" in lines.seen
    assert lines.seen[0].endswith(" --platform-password '••••'")
    rig.assert_no_password(outcome, lines.seen)


FAKE_VIOLET_TOKEN = r"""
printf '%s\0' "$@" > "$HOME/violet-args"
set -x
: violet "$@"
{ set +x; } 2>/dev/null
echo "pushing $2 to $4 with token $6"
echo "error: token $6 rejected" >&2
"""


async def test_with_a_token_violet_gets_platform_token_and_no_username_or_password(rig: Rig) -> None:
    install(rig.node.bin_dir / "violet", FAKE_VIOLET_TOKEN)
    token = "tok$en 'CANARY-token\"x"
    lines = Lines()
    reach = target(rig.cluster, rig.node)
    outcome = await violet_push(reach, rig.package, PLATFORM, "", "", lines, token=token)

    assert outcome.succeeded, outcome
    assert rig.args("violet-args") == [
        "push",
        rig.package,
        "--platform-address",
        PLATFORM,
        "--platform-token",
        token,
    ]
    assert f"pushing {rig.package} to {PLATFORM} with token ••••" in lines.seen
    assert "error: token •••• rejected" in lines.seen
    for piece in (token, "CANARY-token"):
        assert not [line for line in [*lines.seen, *outcome.tail] if piece in line], piece
        assert not [command for command in rig.node.commands if piece in command], piece


async def test_a_failed_push_reports_its_status_and_masked_tail(rig: Rig) -> None:
    violet = install(rig.node.root / "opt" / "violet", FAKE_VIOLET)
    (rig.node.root / "violet-exit").write_text("7\n")
    lines = Lines()
    outcome = await rig.push(lines, violet=str(violet))

    assert outcome.exit_status == 7
    assert outcome.problem == f"127.0.0.11: violet push {rig.package} exited with status 7."
    # stdout and stderr travel apart, so which of the last two lines came first is not fixed
    assert f"error: {USER}:•••• rejected" in outcome.tail[-2:]
    rig.assert_no_password(outcome, lines.seen)


async def test_violet_missing_from_the_node_is_named(rig: Rig) -> None:
    outcome = await rig.push(Lines(), violet="violet-not-installed")

    assert outcome.exit_status not in (0, None)
    assert outcome.problem is not None and "violet-not-installed is not installed" in outcome.problem


async def test_a_missing_package_is_named(rig: Rig) -> None:
    violet = install(rig.node.root / "opt" / "violet", FAKE_VIOLET)
    outcome = await rig.push(Lines(), "/nowhere/x.v1.tgz", violet=str(violet))

    assert outcome.problem == "127.0.0.11: the package /nowhere/x.v1.tgz does not exist."
    assert not (rig.node.root / "violet-args").exists()
