"""Plugin packages named the vendor's way, and whether they cover what is installed (gate 3).

`violet` reads name, architecture and version from a package's file name,
`NAME.ARCH.VERSION.tgz` (`sriov-network-plugin.amd64.v4.3.7.tgz`, `langflow.ALL.v1.6.4-1.tgz`),
so packages can be matched to the recorded operators and plugins without unpacking them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from actions.inventory import Inventory

#: architecture segments seen in vendor package names; the version is everything after one
ARCHES = frozenset({"amd64", "arm64", "x86_64", "aarch64", "ALL", "all", "noarch", "multiarch"})
_VERSION = re.compile(r"^v?\d")
#: an operator's installedCSV is `<name>.v<version>`
_CSV = re.compile(r"^(?P<name>.+?)\.(?P<version>v\d.*)$")


@dataclass(frozen=True)
class Package:
    """One package file, as `violet` reads its name."""

    file: str
    name: str
    arch: str
    version: str


@dataclass(frozen=True)
class Uncovered:
    """Something installed that no package restores, and why."""

    kind: str
    """`operator` or `plugin`"""
    what: str
    """`cluster/name` of an operator, or the plugin's module"""
    wanted: str
    """the package name and version it needs, or what is missing to know it"""


@dataclass(frozen=True)
class Coverage:
    """The outcome of matching the inventory against the package directory."""

    packages: tuple[Package, ...]
    unparsed: tuple[str, ...]
    """`.tgz` files whose names do not follow NAME.ARCH.VERSION.tgz"""
    uncovered: tuple[Uncovered, ...]

    @property
    def complete(self) -> bool:
        """Every installed operator and plugin has a package."""
        return not self.uncovered


def parse_package(file: str) -> Package | None:
    """`NAME.ARCH.VERSION.tgz` → Package; None when the name does not follow it."""
    if not file.endswith(".tgz"):
        return None
    parts = file.removesuffix(".tgz").split(".")
    for i in range(1, len(parts) - 1):
        if parts[i] in ARCHES and _VERSION.match(parts[i + 1]):
            return Package(file, ".".join(parts[:i]), parts[i], ".".join(parts[i + 1 :]))
    return None


def csv_version(installed_csv: str | None) -> tuple[str, str] | None:
    """`clickhouse-operator.v4.2.0` → (`clickhouse-operator`, `v4.2.0`)."""
    match = _CSV.match(installed_csv or "")
    return (match["name"], match["version"]) if match else None


def coverage(inventory: Inventory, files: Iterable[str]) -> Coverage:
    """Match every installed operator (artifact and CSV version) and plugin (module and version) to a package."""
    packages, unparsed = [], []
    for file in files:
        parsed = parse_package(file)
        if parsed is not None:
            packages.append(parsed)
        elif file.endswith(".tgz"):
            unparsed.append(file)
    have = {(p.name, p.version) for p in packages}
    uncovered: list[Uncovered] = []
    for op in inventory.operators:
        where = f"{op.cluster}/{op.name}"
        csv = csv_version(op.installed_csv)
        if csv is None:
            uncovered.append(
                Uncovered("operator", where, "no installed CSV recorded, so no version to match")
            )
            continue
        name = op.artifact or csv[0]
        if (name, csv[1]) not in have:
            uncovered.append(Uncovered("operator", where, f"{name} {csv[1]}"))
    for plugin in inventory.plugins:
        for inst in plugin.installed:
            module = plugin.module or "?"
            if (module, inst.version) not in have:
                uncovered.append(
                    Uncovered("plugin", f"{module} on {inst.cluster}", f"{module} {inst.version}")
                )
    return Coverage(tuple(packages), tuple(unparsed), tuple(uncovered))


def custom_repositories(
    repositories: Iterable[str], packages: Iterable[Package], platform_namespaces: Iterable[str]
) -> tuple[str, ...]:
    """Repositories that neither the installer nor a package restores: the custom images.

    Without unpacking anything, a repository counts as restored when its first path segment is
    one of the platform's namespaces (what `upload.sh` pushes) or its last segment is the name
    of a package (what `violet push` pushes). Everything else would be lost for good.
    """
    namespaces = {n.strip("/") for n in platform_namespaces}
    names = {p.name for p in packages}
    return tuple(
        sorted(
            repo
            for repo in repositories
            if repo.split("/", 1)[0] not in namespaces and repo.rsplit("/", 1)[-1] not in names
        )
    )
