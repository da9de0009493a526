"""What every step is handed: its collaborators, explicitly (docs/architecture.md, "Steps").

A step never reaches for a global or a superclass: the store, the notifier, the clock, the
scheduler's jobs, the settings, the cluster and the engine's task spawning all come from here,
so that a test builds one step with fakes and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from actions.errors import ActionError
from actions.kube import KubeClient, KubeReader
from bot.config.settings import Settings
from bot.core.clock import Clock
from bot.core.engine import Engine
from bot.core.notifier import Notifier
from bot.scheduler import Jobs
from bot.store.database import Database
from bot.store.runs import Store

KubeFactory = Callable[[], KubeReader]


@dataclass(frozen=True)
class StepContext:
    """The collaborators of every step."""

    engine: Engine
    """Runs steps as background tasks and keeps their outcome in the store."""
    store: Store
    """Runs, steps, inventories, backups and the audit log."""
    notifier: Notifier
    settings: Settings
    kube: KubeFactory
    """A new Kubernetes client for each use (closed after it)."""

    @property
    def db(self) -> Database:
        """The database the steps' own records live in."""
        return self.store.db

    @property
    def clock(self) -> Clock:
        """The one clock: the store's, so that what is stored and what is decided agree."""
        return self.store.db.clock

    @property
    def jobs(self) -> Jobs | None:
        """The persistent scheduler's jobs, once it runs (None without a scheduler: the CLI, unit tests)."""
        return self.engine.jobs

    @contextmanager
    def kube_reader(self) -> Iterator[KubeReader]:
        """A Kubernetes client for reading, closed afterwards."""
        client = self.kube()
        try:
            yield client
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()

    @contextmanager
    def kube_client(self) -> Iterator[KubeClient]:
        """A Kubernetes client that can also exec in pods and delete them (the purge, the close)."""
        with self.kube_reader() as client:
            if not isinstance(client, KubeClient):
                raise ActionError("This step needs the Kubernetes API client (pod exec); this one has none.")
            yield client
