"""Run every area's checks concurrently and collect them in the order of the areas."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from actions.errors import RegcleanError
from actions.kube import KubeClient, RetryPolicy
from bot.config.settings import Settings
from bot.config.targets import minio_target, registry_pods, registry_target
from bot.doctor.installer import installer_checks, platform_checks
from bot.doctor.kube import kube_checks
from bot.doctor.minio import minio_checks
from bot.doctor.model import Check, DoctorReport, fail
from bot.doctor.nodes import node_checks
from bot.doctor.registry import registry_checks, registry_pod_checks
from bot.doctor.slack import SlackProbe, slack_checks

Area = Callable[[], Awaitable[list[Check]]]


def kube_factory(settings: Settings) -> Callable[[], KubeClient]:
    """Kubernetes clients as `regclean serve` makes them (KUBECONFIG or in-cluster)."""
    retry = RetryPolicy(attempts=settings.kube_retries, budget=settings.kube_retry_seconds)
    return lambda: KubeClient.from_config(settings.kubeconfig, retry=retry)


async def run_doctor(
    settings: Settings, slack: SlackProbe | None, kube: Callable[[], KubeClient] | None = None
) -> DoctorReport:
    """Every check; nothing is written, deleted or pushed anywhere."""
    kube = kube or kube_factory(settings)
    try:
        client = kube()
    except RegcleanError as exc:
        client, unconfigured = None, str(exc)
    areas: list[tuple[str, Area]] = [("slack", lambda: slack_checks(slack))]
    if client is not None:
        cluster = client
        areas += [
            ("kubernetes", lambda: kube_checks(cluster, settings)),
            ("minio", lambda: minio_checks(cluster, minio_target(settings))),
        ]
    areas.append(("registry", lambda: registry_checks(registry_target(settings))))
    if client is not None:
        areas.append(("registry", lambda: registry_pod_checks(cluster, registry_pods(settings))))
    areas += [
        ("nodes", lambda: node_checks(settings, kube)),
        ("installer", lambda: installer_checks(settings, kube)),
        ("platform", lambda: platform_checks(settings)),
    ]
    try:
        found = await asyncio.gather(*(_area(name, checks) for name, checks in areas))
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
    checks = [c for area in found for c in area]
    if client is None:
        checks.insert(
            1, fail("kubernetes", "config", unconfigured, "Set KUBECONFIG, or run regclean in the cluster.")
        )
    return DoctorReport(tuple(checks))


async def _area(name: str, checks: Area) -> list[Check]:
    """An area's checks; an error that stops them (a setting missing, the API unreachable) is one failed check."""
    try:
        return await checks()
    except RegcleanError as exc:
        return [
            fail(name, "checks", str(exc), "Fix this first: the other checks of this area could not run.")
        ]
