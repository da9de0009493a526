"""One step's collaborators, as fakes: a RecordingNotifier, a SQLite store in tmp_path on a FakeClock,
settings from an environment mapping, and a cluster that is either simulated or must not be touched."""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from actions.kube import KubeClient, KubeReader
from bot.config.settings import Settings
from bot.core.engine import Engine
from bot.core.model import StepState
from bot.core.notifier import Requester
from bot.steps.close.records import CloseRecords
from bot.steps.close.report import Bucket, CatalogCheck, FinalReport, InventoryCheck
from bot.steps.context import KubeFactory, StepContext
from bot.store.runs import Store
from sandbox.clock import FakeClock
from tests.databases import open_store
from tests.unit.bot.recorder import RecordingNotifier

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
"""Where every test's FakeClock starts (a Monday)."""
ALICE = Requester("UALICE", "C1")


def no_kube() -> KubeReader:
    """The cluster of a step that must not touch it."""
    raise AssertionError("this step must not touch the cluster")


def kube_at(kubeconfig: Path) -> KubeFactory:
    """The simulated API server of the `kube_api`/`kubeconfig` fixtures."""
    return lambda: KubeClient.from_config(str(kubeconfig))


@dataclass
class Fakes:
    """A StepContext and the fakes in it, for the test to drive and inspect."""

    ctx: StepContext
    clock: FakeClock
    store: Store
    notifier: RecordingNotifier

    @property
    def engine(self) -> Engine:
        return self.ctx.engine

    def refusals(self) -> list[str]:
        """What the requesters were told when refused, in order."""
        return [reason for _, reason in self.notifier.of("refused")]


@contextmanager
def step_context(
    tmp_path: Path,
    env: Mapping[str, str] | None = None,
    *,
    kube: KubeFactory = no_kube,
    notifier: RecordingNotifier | None = None,
) -> Iterator[Fakes]:
    """A StepContext on fakes; the store is closed afterwards."""
    clock = FakeClock(NOW)
    store = open_store(f"sqlite:///{tmp_path / 'regclean.db'}", clock)
    told = notifier if notifier is not None else RecordingNotifier()
    settings = Settings.load(dict(env or {}))
    engine = Engine(store, told, expected=settings.step_expected)
    try:
        yield Fakes(StepContext(engine, store, told, settings, kube), clock, store, told)
    finally:
        store.close()


def finished_step(store: Store, run_id: int, name: str, state: StepState, user: str = "UALICE") -> int:
    """A step of the run that ran and ended in `state`; its id."""
    step = store.start_step(run_id, name, user)
    assert step is not None
    store.finish_step(step.id, state, error=None if state is StepState.SUCCEEDED else "it broke")
    return step.id


def end_run(store: Store, run_id: int) -> None:
    """End a run as a close without a purge does (abandoned), so that it is no longer active."""
    step = store.start_step(run_id, "close", "UALICE")
    assert step is not None
    report = FinalReport(
        run_id=run_id,
        closed_by="UALICE",
        requester=None,
        approvers=(),
        bucket=Bucket("registry", None, None, None, None),
        objects_removed=None,
        steps=(),
        inventory=InventoryCheck(None, 0, 0, 0, 0, 0, ()),
        catalog=CatalogCheck(0, 0, 0, 0, (), (), (), (), ()),
        images_checked=0,
        images_pullable=0,
        verified_scope=None,
        packages_pushed=0,
        packages_total=0,
        left_to_do=(),
        succeeded=False,
        purged=False,
    )
    assert CloseRecords(store.db).close(step.id, report, "run abandoned")
    assert store.active_run() is None


@contextmanager
def refused_port() -> Iterator[int]:
    """A local TCP port that is bound but not listening: a connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])
