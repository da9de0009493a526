"""What the platform team does on the simulated cluster between steps of the runbook."""

from __future__ import annotations

from sandbox.kube import KubeApiServer


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
