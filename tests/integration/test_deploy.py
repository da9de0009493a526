"""The kustomize manifests in deploy/, rendered as an operator renders them (`kubectl kustomize`,
kubectl 1.20 from Debian: its kustomize is v2.0.3), then read as the API server would take them.

Both overlays: one replica replaced with Recreate; the pod locked down (its own user, the image's;
read-only root, nothing to escalate to, no capabilities, RuntimeDefault seccomp); no secret value
in the manifests, every secret setting taken from a Secret; each Role in the namespace its setting
names; the ClusterRole read-only and granting what actions/ reads; the files the settings name
mounted where they point.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from actions import nodes, pod_ready, workloads
from actions.inventory import OPERATORS, PLUGINS
from bot.config.settings import Settings, env_name

ROOT = Path(__file__).resolve().parents[2]
KUBECTL = ROOT / ".cache" / "kubectl" / "usr" / "bin" / "kubectl"
OVERLAYS = ("socket-mode", "http")
Manifest = dict[str, Any]


def _is_secret(annotation: Any) -> bool:
    """`SecretStr`, or `SecretStr | None`."""
    return annotation is SecretStr or SecretStr in getattr(annotation, "__args__", ())


SECRET_SETTINGS = frozenset(env_name(n) for n, f in Settings.model_fields.items() if _is_secret(f.annotation))
"""Every setting Settings keeps as a secret (tokens, passwords, the database URL)."""
SETTINGS = frozenset(env_name(name) for name in Settings.model_fields)


@dataclass(frozen=True)
class Rendered:
    """One overlay as `kubectl kustomize` prints it."""

    overlay: str
    objects: list[Manifest]

    def of_kind(self, kind: str) -> list[Manifest]:
        return [o for o in self.objects if o["kind"] == kind]

    def one(self, kind: str) -> Manifest:
        [found] = self.of_kind(kind)
        return found

    @property
    def pod(self) -> Manifest:
        return dict(self.one("Deployment")["spec"]["template"]["spec"])

    @property
    def container(self) -> Manifest:
        [container] = self.pod["containers"]
        return dict(container)

    @property
    def config(self) -> dict[str, str]:
        """The ConfigMap the container takes its environment from."""
        [source] = self.container["envFrom"]
        name = source["configMapRef"]["name"]
        [config] = [c for c in self.of_kind("ConfigMap") if c["metadata"]["name"] == name]
        return dict(config["data"])

    def setting(self, name: str) -> str:
        """A setting's value: the ConfigMap's, else the default Settings gives it."""
        field = next(f for n, f in Settings.model_fields.items() if env_name(n) == name)
        return self.config.get(name, str(field.default))

    @property
    def env(self) -> dict[str, Manifest]:
        return {e["name"]: e for e in self.container["env"]}


def render(overlay: str) -> Rendered:
    if not KUBECTL.exists():
        pytest.skip(
            f"kubectl 1.20 is not unpacked at {KUBECTL.relative_to(ROOT)}: run `make setup`, or "
            "`apt-get download kubernetes-client && dpkg-deb -x kubernetes-client_*.deb .cache/kubectl`"
        )
    done = subprocess.run(
        [str(KUBECTL), "kustomize", str(ROOT / "deploy" / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return Rendered(overlay, [o for o in yaml.safe_load_all(done.stdout) if o])


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    return render(request.param)


def test_one_replica_replaced_with_recreate(rendered: Rendered) -> None:
    spec = rendered.one("Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "Recreate"}


def test_the_pod_runs_as_the_images_user_locked_down(rendered: Rendered) -> None:
    [image_user] = re.findall(r"^USER (\d+):\d+$", (ROOT / "Containerfile").read_text(), re.MULTILINE)
    pod, container = rendered.pod, rendered.container
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(image_user)
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == rendered.one("ServiceAccount")["metadata"]["name"]
    context = container["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["readOnlyRootFilesystem"] is True
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context.get("runAsUser", int(image_user)) == int(image_user)
    assert set(container["resources"]) == {"requests", "limits"}
    assert {"cpu", "memory"} <= set(container["resources"]["requests"])
    assert "memory" in container["resources"]["limits"]
    # The root is read-only: /tmp is a scratch volume.
    assert "emptyDir" in volume_at(rendered, "/tmp")


def test_no_secret_value_is_in_the_manifests(rendered: Rendered) -> None:
    assert not rendered.of_kind("Secret"), "Secrets are created by the operator, never shipped"
    assert set(rendered.config) <= SETTINGS, f"not settings: {set(rendered.config) - SETTINGS}"
    assert not SECRET_SETTINGS & set(rendered.config), "a secret setting in the ConfigMap"
    for name, entry in rendered.env.items():
        assert name in SETTINGS, f"{name} is not a setting"
        if name not in SECRET_SETTINGS:
            continue
        if name == "DATABASE_URL" and "value" in entry:
            # The SQLite file holds no credentials; a PostgreSQL URL would, and must come from a Secret.
            assert entry["value"].startswith("sqlite:") and "@" not in entry["value"], entry
            continue
        assert set(entry) == {"name", "valueFrom"} and "secretKeyRef" in entry["valueFrom"], entry


def test_each_mode_gets_its_slack_secret_is_probed_and_only_http_listens(rendered: Rendered) -> None:
    env = rendered.env
    assert env["SLACK_BOT_TOKEN"]["valueFrom"]["secretKeyRef"]["name"] == "regclean-slack"
    port = int(rendered.setting("REGCLEAN_PORT"))
    [named] = [p for p in rendered.container["ports"] if p["containerPort"] == port]
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        get = rendered.container[probe]["httpGet"]
        assert get["path"] == path and get["port"] in (port, named["name"]), probe
    if rendered.overlay == "socket-mode":
        assert "SLACK_APP_TOKEN" in env and "SLACK_SIGNING_SECRET" not in env
        assert not rendered.of_kind("Service")
        return
    assert "SLACK_SIGNING_SECRET" in env and "SLACK_APP_TOKEN" not in env
    [service] = rendered.of_kind("Service")
    [exposed] = service["spec"]["ports"]
    assert exposed["port"] == 3000 and exposed["targetPort"] in (port, named["name"])
    labels = rendered.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()


def test_each_role_is_in_the_namespace_its_setting_names(rendered: Rendered) -> None:
    minio, registry = (
        rendered.setting("REGCLEAN_MINIO_NAMESPACE"),
        rendered.setting("REGCLEAN_REGISTRY_NAMESPACE"),
    )
    roles = {r["metadata"]["name"]: r for r in rendered.of_kind("Role")}
    granted = {(r["metadata"]["namespace"], res, verb) for r in roles.values() for res, verb in grants(r)}
    assert granted == {
        (minio, "pods/exec", "get"),  # the Python client's exec is a WebSocket GET…
        (minio, "pods/exec", "create"),  # …and recent API servers check create
        (registry, "pods", "delete"),
        (registry, "pods/exec", "get"),  # `cat` of the registry's configuration
        (registry, "pods/exec", "create"),
    }
    account = rendered.one("ServiceAccount")["metadata"]
    for binding in rendered.of_kind("RoleBinding"):
        role = roles[binding["roleRef"]["name"]]
        assert binding["metadata"]["namespace"] == role["metadata"]["namespace"]
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
        ]
    assert {b["roleRef"]["name"] for b in rendered.of_kind("RoleBinding")} == set(roles)


def test_the_cluster_role_reads_what_actions_read_and_nothing_more(rendered: Rendered) -> None:
    [role] = rendered.of_kind("ClusterRole")
    read = set(grants(role))
    assert {verb for _, verb in read} == {"get", "list"}, "read-only"
    used = {nodes.NODES.plural, workloads.PODS.plural, pod_ready.PODS.plural, OPERATORS, PLUGINS}
    assert {res for res, verb in read if verb == "list" and not res.startswith("/")} == used
    urls = {res for res, _ in read if res.startswith("/")}
    assert {"/api/*", "/apis", "/apis/*"} == urls, "API discovery: /api/v1, /apis and each group/version"
    [binding] = rendered.of_kind("ClusterRoleBinding")
    account = rendered.one("ServiceAccount")["metadata"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    ]


def test_the_files_the_settings_name_are_mounted_where_they_point(rendered: Rendered) -> None:
    assert "secret" in volume_at(rendered, rendered.setting("REGCLEAN_SSH_KEY"))
    assert "secret" in volume_at(rendered, rendered.setting("REGCLEAN_SSH_KNOWN_HOSTS"))
    assert "configMap" in volume_at(rendered, rendered.setting("REGCLEAN_REGISTRY_CA_FILE"))
    database = rendered.env["DATABASE_URL"]["value"].removeprefix("sqlite:///")
    claim = volume_at(rendered, database)["persistentVolumeClaim"]["claimName"]
    assert claim in {c["metadata"]["name"] for c in rendered.of_kind("PersistentVolumeClaim")}
    ssh = volume_at(rendered, rendered.setting("REGCLEAN_SSH_KEY"))["secret"]
    # Secret files are root's; the group (fsGroup) may read them, nobody else.
    assert ssh["defaultMode"] & 0o007 == 0 and ssh["defaultMode"] & 0o040
    assert rendered.pod["securityContext"]["fsGroup"] == rendered.pod["securityContext"]["runAsUser"]


def grants(role: Manifest) -> list[tuple[str, str]]:
    """(resource or non-resource URL, verb) for every rule; resources of the core group and app.alauda.io."""
    out: list[tuple[str, str]] = []
    for rule in role["rules"]:
        targets = rule.get("resources", []) + rule.get("nonResourceURLs", [])
        out += [(target, verb) for target in targets for verb in rule["verbs"]]
    return out


def volume_at(rendered: Rendered, path: str) -> Manifest:
    """The volume whose mount holds `path` (the deepest mount that does)."""
    mounts = [
        m for m in rendered.container["volumeMounts"] if PurePosixPath(path).is_relative_to(m["mountPath"])
    ]
    assert mounts, f"nothing is mounted at {path}"
    mount = max(mounts, key=lambda m: len(m["mountPath"]))
    [volume] = [v for v in rendered.pod["volumes"] if v["name"] == mount["name"]]
    return dict(volume)
