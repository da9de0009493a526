"""The registry: it answers, over verified TLS (unless REGCLEAN_REGISTRY_PLAIN_HTTP), takes the
credentials and lets them read the catalog; its pods are found, static (mirror) or not, and its
configuration says how its blob cache is kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actions.errors import ActionError, RegistryAuthFailed, RegistryUnreachable
from actions.kube import KubeClient
from actions.pod_ready import find_pods, is_ready
from actions.registry import RegistryClient, RegistryTarget
from actions.registry_clear import RegistryPods
from actions.registry_config import read_config
from actions.registry_http import RegistryTlsError
from bot.doctor.model import Check, fail, ok

AREA = "registry"
MIRROR = "kubernetes.io/config.mirror"
"""The annotation of a static pod's mirror: deleting it does not restart the container."""


async def registry_checks(target: RegistryTarget) -> list[Check]:
    """Reachable, TLS, credentials, catalog: one catalog page, each failure named by what broke."""
    tls = "plain HTTP (REGCLEAN_REGISTRY_PLAIN_HTTP)" if target.plain_http else "verified"
    try:
        async with RegistryClient(target, timeout=30.0) as client:
            repos = await client.catalog_page()
    except RegistryTlsError as exc:
        return [
            ok(AREA, "reachable", target.address),
            fail(AREA, "tls", str(exc), "Set REGCLEAN_REGISTRY_CA_FILE to the platform's CA."),
        ]
    except RegistryUnreachable as exc:
        return [fail(AREA, "reachable", str(exc), "Check REGCLEAN_REGISTRY and the network path to it.")]
    except RegistryAuthFailed as exc:
        return [
            ok(AREA, "reachable", target.address),
            ok(AREA, "tls", tls),
            fail(
                AREA,
                "credentials",
                str(exc),
                "Set REGCLEAN_REGISTRY_USERNAME and REGCLEAN_REGISTRY_PASSWORD.",
            ),
        ]
    except ActionError as exc:
        return [
            ok(AREA, "reachable", target.address),
            ok(AREA, "tls", tls),
            ok(AREA, "credentials", "accepted"),
            fail(AREA, "catalog", str(exc), "The registry user must be allowed to read the catalog."),
        ]
    return [
        ok(AREA, "reachable", target.address),
        ok(AREA, "tls", tls),
        ok(AREA, "credentials", f"accepted for {target.username}" if target.username else "none needed"),
        ok(AREA, "catalog", f"readable ({len(repos)} repositories on its first page)"),
    ]


async def registry_pod_checks(kube: KubeClient, pods: RegistryPods) -> list[Check]:
    """The pods REGCLEAN_REGISTRY_SELECTOR finds (mirror pods named) and the cache their configuration sets."""
    found = sorted(await find_pods(kube, pods.namespace, pods.selector), key=_name)
    where = f"{pods.namespace} with {pods.selector}"
    if not found:
        return [
            fail(
                AREA,
                "pods",
                f"no pod in {where}",
                "Set REGCLEAN_REGISTRY_NAMESPACE and REGCLEAN_REGISTRY_SELECTOR.",
            )
        ]
    mirrors = [_name(p) for p in found if MIRROR in ((p.get("metadata") or {}).get("annotations") or {})]
    kinds = f"; static (mirror) pods: {', '.join(mirrors)}" if mirrors else ""
    checks = [ok(AREA, "pods", f"{len(found)} in {where}: {', '.join(_name(p) for p in found)}{kinds}")]
    ready = [p for p in found if is_ready(p)]
    if not ready:
        return [
            *checks,
            fail(AREA, "configuration", "no registry pod is Ready", "Wait for the registry to be Ready."),
        ]
    try:
        config, _ = await read_config(kube, pods.namespace, ready[0], pods.config_path, pods.configmap)
    except ActionError as exc:
        return [*checks, fail(AREA, "configuration", str(exc), "Set REGCLEAN_REGISTRY_CONFIG or _CONFIGMAP.")]
    redirect = "redirects off" if config.redirect_disabled else "redirects to the storage"
    return [
        *checks,
        ok(AREA, "configuration", f"{config.storage} storage, blob cache {config.cache}, {redirect}"),
    ]


def _name(pod: Mapping[str, Any]) -> str:
    return str((pod.get("metadata") or {}).get("name"))
