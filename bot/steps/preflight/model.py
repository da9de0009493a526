"""What a preflight reads and how its gates stand: the record it stores, and the report posted."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from actions.packages import Coverage
from actions.registry_cache import CacheClearing
from actions.violet_output import Shown, Verification
from bot.steps.export.model import CustomImages
from bot.steps.preflight.gates import Gate


@dataclass(frozen=True)
class PreflightRecord:
    """What one preflight read: the plugin directory, the registry, and the workloads' images."""

    id: int
    run_id: int
    recorded_at: datetime
    recorded_by: str
    installer_node: str
    plugin_dir: str
    packages: tuple[str, ...]
    """Every `.tgz` file name in the plugin directory."""
    registry: str
    """The registry that was read (`host:port`)."""
    repositories: dict[str, tuple[str, ...]]
    """Every repository and its tags, as the registry's catalog had them."""
    custom: tuple[str, ...]
    """Tags (`repo:tag`) that neither the installer nor a package restores (custom images); a
    preflight stored before revision 0002 holds repositories here."""
    workload_images: tuple[str, ...]
    """Every image that a pod of the global cluster uses from the platform registry."""
    custom_ack_by: str | None = None
    custom_ack_at: datetime | None = None
    shown: tuple[Shown, ...] = ()
    """`violet show --all` of each package, in file order (empty for a preflight from before revision 0002)."""
    verification: Verification | None = None
    """`violet verify` of the plugin directory (None for a preflight from before revision 0002)."""
    verify_ack_by: str | None = None
    """Who acknowledged the packages that have no verification file."""
    verify_ack_at: datetime | None = None
    custom_workloads: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Custom tag → the workloads (`namespace/name`) that use it."""
    registry_cache: CacheClearing | None = None
    """The registry's storage, cache and redirect setting, and how the purge will clear its cache
    (None for a preflight from before revision 0005)."""

    @property
    def tag_count(self) -> int:
        """How many tags the registry held."""
        return sum(len(tags) for tags in self.repositories.values())


@dataclass(frozen=True)
class PreflightReport:
    """The gates as judged now, with the record they were judged from."""

    record: PreflightRecord | None
    coverage: Coverage | None
    gates: tuple[Gate, ...]
    images: CustomImages | None = None
    """The run's exports and waivers of custom images, as gate 5 judged them."""

    @property
    def passed(self) -> bool:
        """Every gate holds."""
        return all(g.passed for g in self.gates)

    @property
    def failed(self) -> tuple[Gate, ...]:
        """The gates that do not hold."""
        return tuple(g for g in self.gates if not g.passed)
