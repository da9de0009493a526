"""How a run is judged at its close: pure functions over what the run recorded.

The inventory recorded at the close is held against the one the purge was approved on; the
registry's catalog now against the catalog the preflight recorded; and what is left to do is
said in words a person can act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from actions.inventory import Inventory, OperatorRow, PluginRow
from actions.workloads import repository_of
from bot.core.model import RUNBOOK, RunView, StepName, StepState
from bot.steps.close.report import CatalogCheck, CustomCheck, InventoryCheck, StepTime
from bot.steps.export.model import CustomImages
from bot.steps.inventory.diff import InventoryDiff

Catalog = Mapping[str, Sequence[str]]


def in_catalog(image: str, registry: str, repositories: Catalog) -> bool:
    """Whether an image reference of `registry` names a repository (and tag) the catalog holds.

    A reference by digest counts when its repository is there; the pull check proves the rest.
    """
    repo = repository_of(image, registry)
    if repo not in repositories:
        return False
    if "@" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    tag = name.rsplit(":", 1)[1] if ":" in name else "latest"
    return tag in repositories[repo]


def _tags(repositories: Catalog) -> set[str]:
    return {f"{repo}:{tag}" for repo, tags in repositories.items() for tag in tags}


def compare_catalog(
    before: Catalog,
    after: Catalog,
    *,
    registry: str,
    workload_images: Sequence[str],
    custom: Sequence[str],
) -> CatalogCheck:
    """What came back, what is gone, and what workloads use that is not back."""
    old, now = _tags(before), _tags(after)
    return CatalogCheck(
        repositories_before=len(before),
        repositories_after=len(after),
        tags_before=len(old),
        tags_after=len(now),
        back=tuple(sorted(old & now)),
        gone=tuple(sorted(old - now)),
        new=tuple(sorted(now - old)),
        missing=tuple(sorted({i for i in workload_images if not in_catalog(i, registry, after)})),
        custom_missing=tuple(sorted(r for r in custom if r not in after)),
    )


def check_custom(
    custom: Sequence[str],
    images: CustomImages,
    pushed: Mapping[str, tuple[bool, str | None]],
    workloads: Mapping[str, Sequence[str]],
) -> CustomCheck:
    """Each custom tag of the preflight: pulled again (exported, pushed back and pulled), not back
    (exported but not pulling, or not exported), or waived by an approver (lost, with its workloads).

    `pushed` is the newest re-push: tag → (pulled, problem)."""
    pulled, not_back, waived = [], [], []
    for tag in custom:
        waiver = images.waivers.get(tag)
        if waiver is not None:
            users = ", ".join(workloads.get(tag, ())) or "no workload"
            waived.append(f"{tag} (waived by {waiver.approver}; used by {users})")
        elif tag in pushed and pushed[tag][0]:
            pulled.append(tag)
        elif tag in pushed:
            not_back.append(f"{tag}: {pushed[tag][1]}")
        elif (export := images.exports.get(tag)) is not None and export.digest is not None:
            not_back.append(f"{tag}: not pushed back yet")
        else:
            not_back.append(f"{tag}: neither exported nor waived")
    return CustomCheck(tuple(pulled), tuple(not_back), tuple(waived))


def check_inventory(
    before: Inventory | None, after: Inventory, diff: InventoryDiff | None, *, ids: tuple[int | None, int]
) -> InventoryCheck:
    """Every operator still `Installed` with the same CSV, every plugin at the same versions."""
    problems: list[str] = []
    if before is None or diff is None:
        problems.append("No inventory from before the purge to compare with; compare by hand.")
    else:
        problems += [
            f"operator {_operator(r)}: no longer Installed (was {r.installed_csv})"
            for r in diff.operators.removed
        ]
        for change in diff.operators.changed:
            b, a = change.before, change.after
            if a.phase != b.phase:
                problems.append(f"operator {_operator(b)}: {a.phase}, was {b.phase}")
            if a.installed_csv != b.installed_csv:
                problems.append(f"operator {_operator(b)}: CSV {a.installed_csv}, was {b.installed_csv}")
        problems += [
            f"plugin {r.module}: no longer listed (was {_versions(r)})" for r in diff.plugins.removed
        ]
        problems += [
            f"plugin {c.before.module}: installed {_versions(c.after)}, was {_versions(c.before)}"
            for c in diff.plugins.changed
            if set(c.after.installed) != set(c.before.installed)
        ]
    return InventoryCheck(
        snapshot_before=ids[0],
        snapshot_after=ids[1],
        operators_before=len(before.operators) if before else 0,
        operators_after=len(after.operators),
        plugins_before=len(before.plugins) if before else 0,
        plugins_after=len(after.plugins),
        problems=tuple(problems),
    )


def _operator(row: OperatorRow) -> str:
    return f"{row.cluster}/{row.name}"


def _versions(row: PluginRow) -> str:
    return ", ".join(f"{i.version} on {i.cluster}" for i in row.installed) or "installed nowhere"


def step_times(run: RunView) -> tuple[StepTime, ...]:
    """Each runbook step: attempts, the newest one's state, and the time all of them took."""
    times = []
    for entry in RUNBOOK:
        if entry.name == StepName.CLOSE:
            continue  # the step that asks is still running
        attempts = [s for s in run.steps if s.name == entry.name]
        seconds = sum((s.finished_at - s.started_at).total_seconds() for s in attempts if s.finished_at)
        state = attempts[-1].state.value if attempts else "not run"
        outcomes = tuple(s.state.value for s in attempts)
        times.append(StepTime(entry.name, entry.title, len(attempts), state, seconds, outcomes))
    return tuple(times)


def left_to_do(
    run: RunView,
    *,
    catalog: CatalogCheck,
    inventory: InventoryCheck,
    failed_images: Sequence[str],
    verified_all: bool,
    failed_packages: Sequence[str],
    archives: Sequence[str],
    custom: CustomCheck | None = None,
) -> tuple[str, ...]:
    """What a person still has to do, most urgent first, each with the command or the check."""
    todo: list[str] = []
    core, purge = run.latest(StepName.RESTORE_CORE), run.latest(StepName.PURGE)
    if purge is not None and (core is None or core.state is not StepState.SUCCEEDED):
        todo.append("Restore the core images: `/regclean restore core`.")
    if failed_packages:
        todo.append(
            f"Push the {len(failed_packages)} failed packages again "
            f"(`/regclean restore plugins --retry-failed`): {_some(failed_packages)}."
        )
    if catalog.missing:
        todo.append(
            f"Workloads use {len(catalog.missing)} images that are not back: {_some(catalog.missing)}."
        )
    if failed_images:
        todo.append(
            f"{len(failed_images)} images do not pull: {_some(failed_images)}; then `/regclean verify`."
        )
    elif not verified_all:
        todo.append("Pull every workload image: `/regclean verify`.")
    if inventory.problems:
        todo.append(f"Check the operators and plugins that changed: {_some(inventory.problems, 5)}.")
    if custom is not None:
        if custom.not_back:
            todo.append(
                f"{len(custom.not_back)} exported custom images do not pull: {_some(custom.not_back, 5)}. Push "
                "them again from the export: `/regclean restore custom --retry-failed`."
            )
        if custom.waived:
            todo.append(
                f"{len(custom.waived)} custom images are lost for good, as waived: {_some(custom.waived, 5)}. "
                "Their workloads need another image."
            )
    elif catalog.custom_missing:
        todo.append(
            f"Push the custom images from your export again: {_some(catalog.custom_missing)} "
            "(no package restores them)."
        )
    if archives:
        todo.append(
            f"Keep the backups ({_some(archives, 3)}) until the platform has run well on the cleaned "
            "registry, then delete them to free the nodes' disks. Until then, `regclean rollback --plan` "
            "prints how to put /cpaas/minio back from them."
        )
    return tuple(todo)


def _some(items: Sequence[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    more = len(items) - limit
    return f"{shown} and {more} more" if more > 0 else shown
