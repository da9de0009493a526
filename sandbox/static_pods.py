"""The registry as static pods: mirror pods in the API, containers that only their node's runtime restarts.

`as_static` turns the fixture's registry pods into the mirror pods a kubelet posts for a static
pod (`/etc/kubernetes/manifests/registry.yaml` on each control-plane node): named
`registry-<node>`, annotated `kubernetes.io/config.mirror`, owned by their Node.
`sandbox/pods.py` keeps them as a kubelet does: deleting one only recreates the object.

`ContainerRuntime` is what `crictl` on a node talks to (containerd's CRI, as far as the runbook
needs it): a small HTTP service the sandbox runs; `install_crictl` puts a STAND-IN for crictl
(cri-tools) on each node's PATH. It knows `crictl ps [-a] [-q] [--name REGEX]` and
`crictl stop ID...`, with crictl's output and errors: `stop` prints each ID it stopped, exits 1
with `ID cannot be empty` without one, and with `stopping the container "ID": rpc error: code =
NotFound ...` for an unknown one. A stopped registry container is started again by the kubelet
(`RegistryPods.stop_container`): a new containerID, startedAt and restartCount.
"""

from __future__ import annotations

import copy
import stat
import sys
from collections.abc import Iterable
from pathlib import Path

from aiohttp import web

from sandbox.kube.defaults import KubeObject
from sandbox.kube.fixtures import Fixture
from sandbox.pods import MIRROR, RegistryPods

_REGISTRY = {"app": "registry", "component": "registry"}


def as_static(fixture: Fixture) -> Fixture:
    """The fixture with its registry pods as mirror pods of static pods, one per node."""
    nodes = {str(o["metadata"]["name"]): o for o in fixture.of_kind("Node")}
    objects: list[KubeObject] = []
    for obj in fixture.objects:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if obj.get("kind") == "Pod" and all(labels.get(k) == v for k, v in _REGISTRY.items()):
            obj = _mirror(obj, nodes)
        objects.append(obj)
    return Fixture(fixture.resources, tuple(objects))


def _mirror(pod: KubeObject, nodes: dict[str, KubeObject]) -> KubeObject:
    out = copy.deepcopy(pod)
    node = str(out["spec"]["nodeName"])
    meta = out["metadata"]
    meta["name"] = f"registry-{node}"
    labels = {k: v for k, v in meta["labels"].items() if k != "pod-template-hash"}
    meta["labels"] = {**labels, "tier": "control-plane"}
    meta["annotations"] = {
        MIRROR: "5c3d8e0e9b7f4a1c2d6e8f0a1b3c5d7e",
        "kubernetes.io/config.hash": "5c3d8e0e9b7f4a1c2d6e8f0a1b3c5d7e",
        "kubernetes.io/config.source": "file",
    }
    owner = nodes.get(node, {}).get("metadata") or {}
    meta["ownerReferences"] = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "name": node,
            "uid": str(owner.get("uid", "")),
            "controller": True,
        }
    ]
    out["spec"]["hostNetwork"] = True
    out["spec"]["priorityClassName"] = "system-node-critical"
    return out


class ContainerRuntime:
    """The nodes' container runtimes, for the `crictl` stand-in: lists and stops registry containers."""

    def __init__(self, pods: RegistryPods) -> None:
        self._pods = pods
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.stopped: list[tuple[str, str]] = []
        """(node, pod) of every container stopped, in order."""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/{node}/containers", self._list)
        app.router.add_post("/{node}/containers/{id}/stop", self._stop)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _list(self, request: web.Request) -> web.Response:
        found = self._pods.containers(request.match_info["node"])
        rows = [{"id": cid, "pod": pod, "name": "registry", "running": run} for cid, pod, run in found]
        return web.json_response(rows)

    async def _stop(self, request: web.Request) -> web.Response:
        node, cid = request.match_info["node"], request.match_info["id"]
        pod = self._pods.stop_container(node, cid)
        if pod is None:
            return web.json_response({"error": "not found"}, status=404)
        self.stopped.append((node, pod))
        return web.json_response({"id": cid, "pod": pod})


def install_crictl(bin_dirs: Iterable[tuple[str, Path]], runtime_url: str) -> None:
    """Write the `crictl` stand-in into each (node address, bin directory)."""
    for node, bin_dir in bin_dirs:
        bin_dir.mkdir(parents=True, exist_ok=True)
        script = bin_dir / "crictl"
        script.write_text(_CRICTL.format(python=sys.executable, url=f"{runtime_url}/{node}"))
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


_CRICTL = '''#!{python} -E
"""STAND-IN for crictl (cri-tools) on a sandbox node: `ps [-a] [-q] [--name REGEX]`, `stop ID...`."""
import json, re, sys, urllib.error, urllib.request

RUNTIME = "{url}"


def fatal(message):
    print(f"FATA[0000] {{message}}", file=sys.stderr)
    sys.exit(1)


def ps(args):
    quiet, every, name = False, False, None
    while args:
        arg = args.pop(0)
        if arg in ("-q", "--quiet"):
            quiet = True
        elif arg in ("-a", "--all"):
            every = True
        elif arg == "--name" and args:
            name = args.pop(0)
        elif arg.startswith("--name="):
            name = arg.split("=", 1)[1]
        else:
            fatal(f"flag provided but not defined: {{arg}}")
    with urllib.request.urlopen(RUNTIME + "/containers") as answer:
        rows = json.load(answer)
    rows = [r for r in rows if (every or r["running"]) and (name is None or re.search(name, r["name"]))]
    if not quiet:
        print("CONTAINER           IMAGE               CREATED             STATE               NAME                ATTEMPT             POD ID              POD")
    for r in rows:
        if quiet:
            print(r["id"])
        else:
            state = "Running" if r["running"] else "Exited"
            print(f"{{r['id'][:13]:<20}}{{'registry':<20}}{{'':<20}}{{state:<20}}{{r['name']:<20}}{{0:<20}}{{'':<20}}{{r['pod']}}")


def stop(ids):
    if not ids:
        fatal("ID cannot be empty")
    for cid in ids:
        request = urllib.request.Request(f"{{RUNTIME}}/containers/{{cid}}/stop", method="POST")
        try:
            urllib.request.urlopen(request).close()
        except urllib.error.HTTPError:
            desc = f'an error occurred when try to find container "{{cid}}": not found'
            print(f'E0000 remote_runtime.go:366] "StopContainer from runtime service failed" '
                  f'err="rpc error: code = NotFound desc = {{desc}}" containerID="{{cid}}"', file=sys.stderr)
            fatal(f'stopping the container "{{cid}}": rpc error: code = NotFound desc = {{desc}}')
        print(cid)


def main(argv):
    if not argv:
        print("NAME:\\n   crictl - client for CRI\\n\\nUSAGE:\\n   crictl [global options] command [command options]")
        return
    command, rest = argv[0], list(argv[1:])
    if command == "ps":
        ps(rest)
    elif command == "stop":
        stop([a for a in rest if not a.startswith("-")])
    else:
        fatal(f"No help topic for '{{command}}'")


main(sys.argv[1:])
'''
