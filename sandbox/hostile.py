"""The hostile sandbox: cluster data, people and tool output that try to speak for the bot in Slack.

Everything the bot reads from the cluster or its nodes ends up in Slack messages, and Slack reads
`<!channel>`, `<@U…>`, `<https://…|label>` in mrkdwn as a broadcast, a mention or a link, and a
code fence or a newline as layout (docs/architecture.md, "Cluster strings in Slack"). A
`HostileSandbox` is the sample ACP cluster with such strings wherever the platform lets them be:
display names of operators and plugins, the names of an operator and a plugin, a node's name, a
workload's image reference, a package's file and display name (which `violet` prints), an object
of the registry bucket (whose key `mc rm` prints), and the Slack people's display names.

Each value carries marker IDs and a marker address (`MARKER_USER`, `MARKER_URL`, `MARKER_CHANNEL`)
that the bot never writes itself, so a check can tell a leaked control sequence from the bot's own
mentions; `LEAKS` lists them as they would appear unescaped. The default sandbox and the demo are
untouched: only `HostileSandbox` seeds these values.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

from sandbox.installer.packages import BUNDLE, PackageSpec
from sandbox.kube.defaults import KubeObject
from sandbox.kube.fixtures import SAMPLE_REGISTRY, Fixture, load_fixture
from sandbox.people import PEOPLE
from sandbox.registry import S3Server
from sandbox.stack import Sandbox

MARKER_USER = "U0HOSTILE"
MARKER_CHANNEL = "C0HOSTILE"
MARKER_URL = "https://evil.example/approve"
FORGED = ":white_check_mark: *All 5 gates hold (forged)*"
"""A line that reads as the bot's own, should a value close a code block or start a line."""
LEAKS = ("<!channel", "<!here", f"<@{MARKER_USER}", f"<#{MARKER_CHANNEL}", f"<{MARKER_URL}")
"""The hostile control sequences as they read when a value reaches mrkdwn unescaped."""
LINK = f"<{MARKER_URL}|Click here to approve the purge>"
HOSTILE_IMAGE = f"{SAMPLE_REGISTRY}/acp/x<!channel>{LINK}"
"""A workload's image reference: no registry holds it, so the pull check fails and quotes it."""
HOSTILE_NODE = "acp-global-m2"
"""The control-plane node whose name is replaced by a hostile one."""
CUSTOM_IMAGE = "retail/order-service:1.4.2"
CUSTOM_USER = "order-service-hostile"
"""A pod with a hostile name uses this custom image: the preflight and a waiver name it."""
STRAY_KEY = f"docker/registry/v2/stray/<!here><@{MARKER_USER}>&.txt"
"""An object in the registry bucket that `mc rm` names as it removes it."""


def hostile(label: str, *, path_safe: bool = False) -> str:
    """`label` followed by every hostile sequence; `path_safe` leaves out `/` and newlines (a file name)."""
    value = f"{label}<!channel><!here><@{MARKER_USER}><#{MARKER_CHANNEL}>&amp;&"
    if path_safe:
        return value
    return f"{value}{LINK}\n```\n{FORGED}\n```\n{FORGED}"


HOSTILE_OPERATOR = hostile("hostile-operator")
"""An installed operator with no package: the package gate names it, and refuses the purge."""


def hostile_fixture(base: Fixture | None = None) -> Fixture:
    """The sample fixture (or `base`) with hostile names, display names, a node and a pod image."""
    fixture = base or load_fixture()
    objects = [_hostile_object(copy.deepcopy(o)) for o in fixture.objects]
    objects += [_operator(), _plugin(), _pod(), _custom_image_user()]
    node = hostile(HOSTILE_NODE)
    for obj in objects:  # the pods on the renamed node follow it
        spec = obj.get("spec") or {}
        if obj.get("kind") == "Pod" and spec.get("nodeName") == HOSTILE_NODE:
            spec["nodeName"] = node
    return dataclasses.replace(fixture, objects=tuple(objects))


def _hostile_object(obj: KubeObject) -> KubeObject:
    kind, name = obj.get("kind"), (obj.get("metadata") or {}).get("name")
    if kind == "Node" and name == HOSTILE_NODE:
        obj["metadata"]["name"] = hostile(HOSTILE_NODE)
    elif kind == "OperatorView":
        for channel in (obj.get("status") or {}).get("packageManifestStatus", {}).get("channels") or []:
            desc = channel.get("currentCSVDesc")
            if isinstance(desc, dict) and desc.get("displayName"):
                desc["displayName"] = hostile(str(desc["displayName"]))
    elif kind == "ModulePluginView":
        annotations = obj["metadata"].setdefault("annotations", {})
        try:
            english = json.loads(annotations.get("cpaas.io/display-name") or "{}").get("en") or name
        except ValueError:
            english = name
        annotations["cpaas.io/display-name"] = json.dumps({"en": hostile(str(english))})
    return obj


def _operator() -> KubeObject:
    return {
        "apiVersion": "app.alauda.io/v1alpha1",
        "kind": "OperatorView",
        "metadata": {"name": HOSTILE_OPERATOR, "namespace": "global"},
        "status": {
            "operatorStatus": {
                "phase": "Installed",
                "installation": {
                    "artifactName": hostile("hostile-operator"),
                    "subscription": {"installedCSV": hostile("hostile-operator.v1.0.0")},
                },
            },
            "packageManifestStatus": {
                "channels": [{"name": "stable", "currentCSVDesc": {"displayName": hostile("Hostile")}}]
            },
        },
    }


def _plugin() -> KubeObject:
    module = hostile("hostile-plugin")
    return {
        "apiVersion": "app.alauda.io/v1alpha2",
        "kind": "ModulePluginView",
        "metadata": {
            "name": "hostile-plugin",
            "labels": {"cpaas.io/module-name": module, "cpaas.io/lifecycle-type": "agnostic"},
            "annotations": {"cpaas.io/display-name": hostile("Hostile plugin")},
        },
        "status": {"installed": []},
    }


def _pod() -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hostile-app", "namespace": "retail", "labels": {"app": "hostile-app"}},
        "spec": {"nodeName": HOSTILE_NODE, "containers": [{"name": "app", "image": HOSTILE_IMAGE}]},
    }


def _custom_image_user() -> KubeObject:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": hostile(CUSTOM_USER), "namespace": "retail-prod"},
        "spec": {
            "nodeName": "acp-global-w2",
            "containers": [{"name": "app", "image": f"{SAMPLE_REGISTRY}/{CUSTOM_IMAGE}"}],
        },
    }


HOSTILE_PACKAGE = PackageSpec(
    hostile("hostile-operator", path_safe=True) + ".v1.0.0.tgz",
    hostile("Hostile package"),
    BUNDLE,
    ("linux/amd64",),
    "1.0.0",
    "acp/hostile-operator-bundle:v1.0.0",
    ("acp/hostile-operator:v1.0.0",),
)
"""A package of nothing installed, with a hostile file name and a hostile `Name:` that `violet` prints."""


class HostileSandbox(Sandbox):
    """The sandbox with `hostile_fixture`, `HOSTILE_PACKAGE`, hostile display names for its people,
    and `STRAY_KEY` in the registry bucket."""

    def __init__(self, workdir: Path, *, s3: S3Server | None = None, **options: Any) -> None:
        super().__init__(workdir, hostile_fixture(), s3=s3, **options)
        self.package_specs.append(HOSTILE_PACKAGE)
        for user_id, name in PEOPLE.items():
            user = self.slack.users[user_id]
            user.name, user.real_name = hostile(name, path_safe=True), hostile(name)

    async def start(self) -> None:
        """Start as a sandbox does, then plant the stray object in the registry bucket."""
        await super().start()
        client = self.s3.client()
        try:
            client.put_object(Bucket="registry", Key=STRAY_KEY, Body=b"stray\n")
        finally:
            client.close()


def leaks(text: str) -> list[str]:
    """The hostile control sequences that `text` carries unescaped."""
    return [leak for leak in LEAKS if leak in text]


def forged_lines(text: str) -> list[str]:
    """The lines of a mrkdwn text, outside its code blocks, that start with `FORGED`: a value broke
    out of its code block, or started a line of its own."""
    outside = text.split("```")[::2]
    return [line for part in outside for line in part.splitlines() if line.lstrip().startswith(FORGED)]
