"""Whether the plugin packages cover what is installed (gate 3), judged by what `violet show`
shows, never by file names (docs/architecture.md, "Gates and the plan").

Package files are named every which way as shipped (`topolvm-operator.v2.3.0.tgz`,
`plugins-cloudedge-v0.3.16-hybrid.tgz`, `envoy-gateway-operator.tgz`); violet reads a package's
identity from inside it. The matching rule:

- an operator is covered by a package whose Artifact's repository ends in the operator's
  `artifactName` or `artifactName-bundle` (`…/acp/topolvm-operator-bundle:v3.11.0`), and whose
  Version is the installed CSV's version (`topolvm-operator.v2.3.0` → `2.3.0`);
- a plugin at a version is covered by a package whose Artifact's repository ends in its module
  name or `chart-<module>`, at that Version.

Versions are compared without a leading `v`; the Artifact's tag is not the version (the
documentation's NativeStor 2.3.0 ships bundle `v3.11.0`) and is not compared.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from actions.inventory import Inventory
from actions.violet_output import Shown

#: an operator's installedCSV is `<name>.v<version>`
_CSV = re.compile(r"^(?P<name>.+?)\.(?P<version>v\d.*)$")


@dataclass(frozen=True)
class Uncovered:
    """Something installed that no package restores, and why."""

    kind: str
    """`operator` or `plugin`"""
    what: str
    """`cluster/name` of an operator, or the plugin's module"""
    wanted: str
    """the artifact and version it needs, or what is missing to know it"""


@dataclass(frozen=True)
class Coverage:
    """The outcome of matching the inventory against what violet shows of each package."""

    packages: tuple[Shown, ...]
    """The packages violet showed."""
    unshowable: tuple[Shown, ...]
    """The packages violet could not show (each with its error): nothing is known of them."""
    uncovered: tuple[Uncovered, ...]

    @property
    def complete(self) -> bool:
        """Every installed operator and plugin has a package, and violet can show every package."""
        return not self.uncovered and not self.unshowable


def csv_version(installed_csv: str | None) -> tuple[str, str] | None:
    """`clickhouse-operator.v4.2.0` → (`clickhouse-operator`, `v4.2.0`)."""
    match = _CSV.match(installed_csv or "")
    return (match["name"], match["version"]) if match else None


def plain_version(version: str) -> str:
    """`v4.2.0` and `4.2.0` → `4.2.0`."""
    version = version.strip()
    return version[1:] if version[:1] in ("v", "V") and version[1:2].isdigit() else version


def image_path(reference: str) -> tuple[str, str]:
    """`harbor.demo.io/acp/topolvm:v3.11.0` → (`acp/topolvm`, `v3.11.0`): repository without the
    registry host (a first segment with a `.` or `:`, or `localhost`), and tag (`` for a digest)."""
    first, sep, rest = reference.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        reference = rest
    name = reference.split("@", 1)[0]
    repo, colon, tag = name.rpartition(":")
    if not colon or "/" in tag:
        return name, ""
    return repo, tag


def _artifact_name(shown: Shown) -> str:
    return image_path(shown.artifact)[0].rsplit("/", 1)[-1] if shown.artifact else ""


def coverage(inventory: Inventory, shown: Iterable[Shown]) -> Coverage:
    """Match every installed operator (artifact and CSV version) and plugin (module and version) to a package."""
    every = tuple(shown)
    packages = tuple(s for s in every if s.error is None)
    unshowable = tuple(s for s in every if s.error is not None)
    have = {(_artifact_name(p), plain_version(p.version)) for p in packages}
    uncovered: list[Uncovered] = []
    for op in inventory.operators:
        where = f"{op.cluster}/{op.name}"
        csv = csv_version(op.installed_csv)
        if csv is None:
            uncovered.append(
                Uncovered("operator", where, "no installed CSV recorded, so no version to match")
            )
            continue
        name, version = op.artifact or csv[0], plain_version(csv[1])
        if not have & {(name, version), (f"{name}-bundle", version)}:
            uncovered.append(Uncovered("operator", where, f"{name} {csv[1]}"))
    for plugin in inventory.plugins:
        module = plugin.module or "?"
        for inst in plugin.installed:
            version = plain_version(inst.version or "")
            if not have & {(module, version), (f"chart-{module}", version)}:
                uncovered.append(
                    Uncovered("plugin", f"{module} on {inst.cluster}", f"{module} {inst.version}")
                )
    return Coverage(packages, unshowable, tuple(uncovered))


def restored_by_core(repository: str, platform_namespaces: Iterable[str]) -> bool:
    """The platform-namespace rule: `upload.sh` restores a repository whose first path segment is
    one of REGCLEAN_PLATFORM_NAMESPACES (`acp/archon` with `acp`)."""
    return repository.split("/", 1)[0] in {n.strip("/") for n in platform_namespaces}


def custom_tags(
    repositories: Mapping[str, Iterable[str]], packages: Iterable[Shown], platform_namespaces: Iterable[str]
) -> tuple[str, ...]:
    """`repo:tag` of every tag in the registry's catalog that nothing restores: the custom images.

    A tag is restored by the core under the platform-namespace rule (`restored_by_core`), or by a
    package when violet shows it as that package's Artifact or one of its RelateImages (compared
    by repository path without the registry host, and tag). Everything else is lost for good."""
    namespaces = tuple(platform_namespaces)
    pushed = {image_path(ref) for p in packages if p.error is None for ref in p.images}
    return tuple(
        sorted(
            f"{repo}:{tag}"
            for repo, tags in repositories.items()
            if not restored_by_core(repo, namespaces)
            for tag in tags
            if (repo, tag) not in pushed
        )
    )
