"""The runbook's own kubectl commands and `regclean inventory` agree on the sandbox's ACP sample.

kubectl 1.20 from Debian is the reference: the runbook was written against it. The bot must record
exactly the rows those two commands print, so the test runs them verbatim (kubectl gets only
`--kubeconfig` and a per-test `--cache-dir`) and compares them with regclean's JSON.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shlex
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.kube import KubeApiServer
from sandbox.kube.fixtures import (
    Fixture,
    generate_fixture,
    installed_operators,
    listed_plugins,
    load_fixture,
    without_empty_channels,
)
from sandbox.kube.runbook import OPERATORS_COMMAND, PLUGINS_TEMPLATE
from sandbox.kube.unkind import METRICS_API

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
KUBECTL = REPO / ".cache" / "kubectl" / "usr" / "bin" / "kubectl"

PLUGINS_HEADER = f"{'MODULE':<40} {'LIFECYCLE':<10} {'INSTALLED(CLUSTER:VERSION)':<40} DISPLAY_NAME"
GO_NIL = "%!s(<nil>)"
"""What Go's printf makes of a missing map entry: the plugin without a display-name annotation."""

OperatorRow = tuple[str, str, str, str | None, str | None, str | None]
PluginRow = tuple[str, str, tuple[tuple[str, str], ...], str | None]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def kubectl() -> Path:
    if not KUBECTL.exists():
        pytest.skip(
            f"kubectl 1.20 is not unpacked at {KUBECTL.relative_to(REPO)}: run the project's setup, or "
            "`apt-get download kubernetes-client && dpkg-deb -x kubernetes-client_*.deb .cache/kubectl`"
        )
    return KUBECTL


async def serve(fixture: Fixture, tmp_path: Path) -> AsyncIterator[Path]:
    async for server in serving(fixture):
        yield server.write_kubeconfig(tmp_path / "kubeconfig")


async def serving(fixture: Fixture) -> AsyncIterator[KubeApiServer]:
    server = KubeApiServer(fixture.objects, fixture.resources)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def strained() -> AsyncIterator[KubeApiServer]:
    """The conformant sample, for tests that switch on an unavailable API or throttling."""
    async for server in serving(without_empty_channels(load_fixture())):
        yield server


@pytest.fixture
async def conformant(tmp_path: Path) -> AsyncIterator[Path]:
    """The sample minus the operator with an empty channel list, on which kubectl's command stops."""
    async for served in serve(without_empty_channels(load_fixture()), tmp_path):
        yield served


@pytest.fixture
async def full_sample(tmp_path: Path) -> AsyncIterator[Path]:
    async for served in serve(load_fixture(), tmp_path):
        yield served


async def run(argv: list[str], *, env: dict[str, str] | None = None, within: float = 60) -> Run:
    # Asynchronous on purpose: the API server answering these processes runs on this event loop.
    proc = await asyncio.create_subprocess_exec(
        *argv, cwd=REPO, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), within)
    assert proc.returncode is not None
    return Run(proc.returncode, out.decode(), err.decode())


def kubectl_prefix(kubectl: Path, kubeconfig: Path, cache: Path) -> str:
    return f"{shlex.quote(str(kubectl))} --kubeconfig {shlex.quote(str(kubeconfig))} --cache-dir {shlex.quote(str(cache))}"


async def runbook_operators(kubectl: Path, kubeconfig: Path, cache: Path) -> Run:
    command = OPERATORS_COMMAND.replace("kubectl", kubectl_prefix(kubectl, kubeconfig, cache), 1)
    return await run(["sh", "-c", command])


async def runbook_plugins(kubectl: Path, kubeconfig: Path, cache: Path) -> Run:
    argv = [str(kubectl), "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache)]
    return await run([*argv, "get", "modulepluginview", "-o", f"go-template={PLUGINS_TEMPLATE}"])


def parse_operator_rows(stdout: str) -> list[OperatorRow]:
    """Cells by the header's column starts; only DISPLAY_NAME (last) may hold blanks."""
    header, *lines = stdout.splitlines()
    titles = header.split()
    assert titles == ["CLUSTER", "NAME", "PHASE", "ARTIFACT", "INSTALLED_CSV", "DISPLAY_NAME"]
    starts = [header.index(t) for t in titles] + [None]
    rows = []
    for line in lines:
        cells = [line[a:b].strip() for a, b in itertools.pairwise(starts)]
        cluster, name, phase, artifact, csv, display = (None if c == "<none>" else c for c in cells)
        assert cluster and name and phase, line
        rows.append((cluster, name, phase, artifact, csv, display))
    return rows


def parse_plugin_rows(stdout: str) -> list[PluginRow]:
    """Cells by the fixed widths of the runbook's `%-40s %-10s %-40s %-40s`."""
    header, *lines = stdout.split("\n")
    assert header == PLUGINS_HEADER
    assert lines[-1] == "", "every row ends with a newline"
    rows = []
    for line in lines[:-1]:
        assert line[40] == " " and line[51] == " " and line[92] == " ", (
            f"a cell overflows its width: {line!r}"
        )
        module, lifecycle, installed = line[:40].rstrip(), line[41:51].rstrip(), line[52:92].rstrip()
        display = line[93:].rstrip()
        pairs = (
            tuple((c, v) for c, v in (p.split(":", 1) for p in installed.split(", "))) if installed else ()
        )
        rows.append((module, lifecycle, pairs, None if display == GO_NIL else display))
    return rows


def english(annotation: str | None) -> str | None:
    """The display name regclean records: the annotation's "en" value, or the raw text if not JSON."""
    if annotation is None:
        return None
    try:
        parsed = json.loads(annotation)
    except ValueError:
        return annotation
    return parsed.get("en") if isinstance(parsed, dict) else annotation


def regclean_env(kubeconfig: Path, tmp_path: Path) -> dict[str, str]:
    # No waiting between retries: kubectl does not wait for a 503 without Retry-After either.
    return {
        **os.environ,
        "KUBECONFIG": str(kubeconfig),
        "DATABASE_URL": f"sqlite:///{tmp_path}/db.sqlite",
        "REGCLEAN_KUBE_RETRY_SECONDS": "0",
    }


async def regclean_inventory(kubeconfig: Path, tmp_path: Path) -> dict[str, Any]:
    env = regclean_env(kubeconfig, tmp_path)
    done = await run([sys.executable, "-m", "bot.cli", "inventory", "--format", "json"], env=env)
    assert done.returncode == 0, f"regclean inventory failed:\n{done.stderr}"
    inventory = json.loads(done.stdout)
    assert set(inventory) == {"schema", "run", "operators", "plugins"} and inventory["schema"] == 1
    return inventory


async def test_regclean_records_the_operators_the_runbook_command_prints(
    kubectl, conformant, tmp_path
) -> None:
    kubeconfig = conformant
    printed = await runbook_operators(kubectl, kubeconfig, tmp_path / "kube-cache")
    assert printed.stderr == ""
    rows = parse_operator_rows(printed.stdout)
    expected = without_empty_channels(load_fixture())
    assert len(rows) == len(installed_operators(expected)) > 3
    assert ("global", "nacos-operator", "Installed", "nacos-operator", "nacos-operator.v2.4.3", None) in rows
    assert (
        "global",
        "tektoncd-operator",
        "Installed",
        "tektoncd-operator",
        None,
        "Alauda DevOps Pipelines",
    ) in rows
    inventory = await regclean_inventory(kubeconfig, tmp_path)
    recorded = [
        (o["cluster"], o["name"], o["phase"], o["artifact"], o["installed_csv"], o["display_name"])
        for o in inventory["operators"]
    ]
    assert sorted(recorded, key=str) == sorted(rows, key=str)


async def test_regclean_records_the_plugins_the_runbook_template_prints(
    kubectl, conformant, tmp_path
) -> None:
    kubeconfig = conformant
    printed = await runbook_plugins(kubectl, kubeconfig, tmp_path / "kube-cache")
    assert printed.returncode == 0 and printed.stderr == ""
    rows = parse_plugin_rows(printed.stdout)
    assert len(rows) == len(listed_plugins(load_fixture())) > 3
    assert rows[-1][:3] == ("volcano", "aligned", (("global", "v4.2.3"), ("business-1", "v4.2.3")))
    assert ("hami", "agnostic", (("business-2", "v2.5.1"),), None) in rows
    expected = [(m, lc, inst, english(display)) for m, lc, inst, display in rows]
    inventory = await regclean_inventory(kubeconfig, tmp_path)
    recorded = [
        (
            p["module"],
            p["lifecycle"],
            tuple((i["cluster"], i["version"]) for i in p["installed"]),
            p["display_name"],
        )
        for p in inventory["plugins"]
    ]
    assert sorted(recorded, key=str) == sorted(expected, key=str)


async def test_runbook_operator_command_breaks_off_on_an_empty_channel_list(
    kubectl, full_sample, tmp_path
) -> None:
    """Why regclean's inventory can hold rows the runbook's command never prints."""
    kubeconfig = full_sample
    printed = await runbook_operators(kubectl, kubeconfig, tmp_path / "kube-cache")
    assert "array index out of bounds" in printed.stderr
    names = {(row[0], row[1]) for row in parse_operator_rows(printed.stdout)}
    # etcd order: global/kafka-operator comes before the broken global/mongodb-operator, nacos after it.
    assert ("global", "kafka-operator") in names
    assert not names & {("global", "mongodb-operator"), ("global", "nacos-operator")}
    alone = await run(
        [
            "sh",
            "-c",
            OPERATORS_COMMAND.split(" | ")[0].replace(
                "kubectl", kubectl_prefix(kubectl, kubeconfig, tmp_path / "kube-cache"), 1
            ),
        ]
    )
    assert alone.returncode != 0


async def test_kubectl_pages_through_a_large_acp_in_chunks_of_500(kubectl, tmp_path) -> None:
    fixture = generate_fixture(operators=1200, clusters=40, plugins=0)
    server = KubeApiServer(fixture.objects, fixture.resources)
    await server.start()
    try:
        kubeconfig = server.write_kubeconfig(tmp_path / "kubeconfig")
        printed = await runbook_operators(kubectl, kubeconfig, tmp_path / "kube-cache")
    finally:
        await server.stop()
    assert printed.stderr == ""
    assert len(parse_operator_rows(printed.stdout)) == len(installed_operators(fixture))
    lists = [urlsplit(path) for _, path in server.requests if urlsplit(path).path.endswith("/operatorviews")]
    assert [parse_qs(u.query).get("limit") for u in lists] == [["500"]] * 3
    assert [bool(parse_qs(u.query).get("continue")) for u in lists] == [False, True, True]


async def test_with_an_api_down_kubectl_lists_what_it_can_and_fails_api_resources(
    kubectl, strained, tmp_path
) -> None:
    strained.unavailable_api(METRICS_API)
    kubeconfig = strained.write_kubeconfig(tmp_path / "kubeconfig")
    argv = [str(kubectl), "--kubeconfig", str(kubeconfig), "--cache-dir", str(tmp_path / "kube-cache")]
    listed = await run([*argv, "api-resources"])
    assert listed.returncode == 1
    assert listed.stderr == (
        "error: unable to retrieve the complete list of server APIs: metrics.k8s.io/v1beta1: "
        "the server is currently unable to handle the request\n"
    )
    names = {line.split()[0] for line in listed.stdout.splitlines()[1:]}
    assert {"operatorviews", "modulepluginviews", "pods"} <= names


async def test_kubectl_and_regclean_agree_with_an_api_down_and_throttling(
    kubectl, strained, tmp_path
) -> None:
    strained.unavailable_api(METRICS_API)
    kubeconfig = strained.write_kubeconfig(tmp_path / "kubeconfig")
    strained.throttle(3, retry_after=0)
    printed = await runbook_operators(kubectl, kubeconfig, tmp_path / "kube-cache")
    assert printed.stderr == "", "kubectl waited out the 429s and skipped the unavailable group silently"
    rows = parse_operator_rows(printed.stdout)
    assert [path for _, path in strained.requests[:3]] == [strained.requests[0][1]] * 3
    strained.throttle(3, retry_after=0)
    inventory = await regclean_inventory(kubeconfig, tmp_path)
    recorded = [
        (o["cluster"], o["name"], o["phase"], o["artifact"], o["installed_csv"], o["display_name"])
        for o in inventory["operators"]
    ]
    assert sorted(recorded, key=str) == sorted(rows, key=str) and len(rows) > 3


async def test_a_stale_group_serving_the_plugins_fails_kubectl_and_regclean(
    kubectl, strained, tmp_path
) -> None:
    strained.unavailable_api("app.alauda.io/v1alpha2")
    kubeconfig = strained.write_kubeconfig(tmp_path / "kubeconfig")
    printed = await runbook_plugins(kubectl, kubeconfig, tmp_path / "kube-cache")
    assert printed.returncode == 1
    assert printed.stderr == 'error: the server doesn\'t have a resource type "modulepluginview"\n'
    env = regclean_env(kubeconfig, tmp_path)
    done = await run([sys.executable, "-m", "bot.cli", "inventory", "--format", "json"], env=env)
    assert done.returncode != 0 and done.stdout == ""
    assert (
        "app.alauda.io/v1alpha2 answered 503 Service Unavailable: the server is currently unable to "
        "handle the request. modulepluginviews cannot be listed"
    ) in done.stderr
