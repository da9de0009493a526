"""The bot's Prometheus metrics, served as `/metrics` in both modes (docs/architecture.md, "Logs and metrics").

Each `Metrics` has a registry of its own (never prometheus_client's global one), so that two bots in
one process, as in the tests, count apart. The engine tells it when steps start and end
(`StepWatcher`); the Slack client counts its calls, retries and failures into it
(`handlers/slack_metrics.py`); the age of the newest verified backup and the latest run's state are
read from the store when scraped.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from bot.core.model import RunState, StepName
from bot.store.database import Database
from bot.store.schema import BackupRow, RunRow

log = logging.getLogger(__name__)

# A step takes seconds (the preflight) to hours (upload.sh, a large purge).
STEP_BUCKETS = (1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, 28800, float("inf"))


class Metrics:
    """Counters, histograms and gauges of one bot; `exposition()` is what `/metrics` answers."""

    def __init__(self, db: Database | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.step_seconds = Histogram(
            "regclean_step_duration_seconds",
            "How long each step took, by step and outcome.",
            ["step", "outcome"],
            buckets=STEP_BUCKETS,
            registry=r,
        )
        self.steps = Counter(
            "regclean_steps", "Steps ended, by step and outcome.", ["step", "outcome"], registry=r
        )
        self.steps_started = Counter(
            "regclean_steps_started", "Steps started, by step.", ["step"], registry=r
        )
        self.slack_calls = Counter(
            "regclean_slack_api_calls", "Slack Web API calls made, by method.", ["method"], registry=r
        )
        self.slack_retries = Counter(
            "regclean_slack_api_retries",
            "Slack Web API calls retried, by why (connection_error, server_error, rate_limited).",
            ["reason"],
            registry=r,
        )
        self.slack_failures = Counter(
            "regclean_slack_api_failures",
            "Slack Web API calls that failed after their retries, by method and Slack's error.",
            ["method", "error"],
            registry=r,
        )
        self.purges = Counter("regclean_purges", "Purges ended, by outcome.", ["outcome"], registry=r)
        self.purged_objects = Counter(
            "regclean_purge_objects_removed", "Objects the purges removed from the bucket.", registry=r
        )
        if db is not None:
            r.register(StoreGauges(db))

    def __deepcopy__(self, memo: dict[int, object]) -> Metrics:
        # Bolt deep-copies a request, the client in its context included, for lazy listeners: the
        # copy must count into the same metrics (and prometheus_client's locks cannot be copied).
        return self

    # StepWatcher (bot/core/engine.py)
    def step_started(self, name: str) -> None:
        self.steps_started.labels(name).inc()

    def step_ended(self, name: str, outcome: str, seconds: float, counts: Mapping[str, int]) -> None:
        self.step_seconds.labels(name, outcome).observe(max(seconds, 0.0))
        self.steps.labels(name, outcome).inc()
        if name == StepName.PURGE:
            self.purges.labels(outcome).inc()
            self.purged_objects.inc(counts.get("objects_removed", 0))

    def exposition(self) -> bytes:
        """The text exposition format (blocking: reads the store; call it off the event loop)."""
        return generate_latest(self.registry)


class StoreGauges(Collector):
    """Read from the store at each scrape: the newest verified backup's age, the latest run's state."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def collect(self) -> Iterator[Metric]:
        store = GaugeMetricFamily("regclean_store_up", "1 when the store answered this scrape's queries.")
        try:
            with self._db.session() as s:
                newest = s.scalar(select(func.max(BackupRow.finished_at)).where(BackupRow.verified.is_(True)))
                latest = s.execute(
                    select(RunRow.id, RunRow.state).order_by(RunRow.id.desc()).limit(1)
                ).first()
        except SQLAlchemyError as exc:
            # The counters are still worth scraping; the store's gauges are left out this time.
            log.warning("metrics: the store did not answer (%s)", type(exc).__name__)
            store.add_metric([], 0.0)
            yield store
            return
        store.add_metric([], 1.0)
        yield store
        age = GaugeMetricFamily(
            "regclean_newest_verified_backup_age_seconds",
            "Seconds since the newest verified backup finished (absent before the first one).",
        )
        if newest is not None:
            finished = newest if newest.tzinfo else newest.replace(tzinfo=UTC)
            age.add_metric([], (self._now() - finished).total_seconds())
        yield age
        state = GaugeMetricFamily(
            "regclean_run_state", "The latest run's state: 1 for the state it is in.", labels=["state"]
        )
        for each in RunState:
            state.add_metric([str(each)], 1.0 if latest is not None and latest.state == each else 0.0)
        yield state
        run = GaugeMetricFamily("regclean_run_id", "The latest run's number (absent before the first run).")
        if latest is not None:
            run.add_metric([], float(latest.id))
        yield run

    def _now(self) -> datetime:
        now = self._db.clock.now()
        return now if now.tzinfo else now.replace(tzinfo=UTC)
