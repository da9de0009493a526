"""What the platform team does on the simulated cluster between steps of the runbook."""

from __future__ import annotations

import asyncio

from sandbox.installer.layouts import write_layout
from sandbox.kube import KubeApiServer
from sandbox.registry.images import push
from sandbox.registry.seed import MULTI_ARCH
from sandbox.stack import Sandbox


def settle_missing_csvs(kube: KubeApiServer) -> list[str]:
    """Installed operators whose subscription reports no installedCSV get their channel's current CSV.

    The sample fixture has one on purpose (tektoncd-operator): the package gate cannot match it to
    a package, and names it. This is the fix a person makes (the subscription catches up), after
    which the inventory is recorded again. Returns `cluster/name` of each operator changed.
    """
    changed = []
    for view in kube.objects("operatorviews"):
        status = view.get("status") or {}
        operator = status.get("operatorStatus") or {}
        subscription = (operator.get("installation") or {}).get("subscription")
        channels = (status.get("packageManifestStatus") or {}).get("channels") or []
        if operator.get("phase") != "Installed" or subscription is None or subscription.get("installedCSV"):
            continue
        current = channels[0].get("currentCSV") if channels else None
        if current:
            subscription["installedCSV"] = current
            kube.add(view)
            changed.append(f"{view['metadata']['namespace']}/{view['metadata']['name']}")
    return changed


def custom_images(box: Sandbox) -> list[str]:
    """The images the registry started with in repositories that neither `upload.sh` nor a package
    restores: the team's own, which the preflight lists (the sample has `retail/…`)."""
    restored = {ref.rpartition(":")[0] for ref in box.restorable_images}
    return [ref for ref in box.images if ref.rpartition(":")[0] not in restored]


async def push_custom_images(box: Sandbox) -> list[str]:
    """After the purge, the team pushes its custom images again from the export it made before,
    each the same image, digest for digest, as the registry held. Returns their references."""
    custom = custom_images(box)

    async def one(reference: str) -> None:
        layout = box.workdir / "export" / reference.replace("/", "_").replace(":", "_")
        written = await asyncio.to_thread(write_layout, layout, reference)
        await push(written, box.registry, reference, all_platforms=reference in MULTI_ARCH)

    await asyncio.gather(*(one(ref) for ref in custom))
    return custom
