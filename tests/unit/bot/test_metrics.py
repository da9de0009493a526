"""bot/metrics.py: what the engine tells it, a registry per bot, and copies that count into the same one."""

from __future__ import annotations

import copy
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics
from bot.store.migrate import open_database


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_purge_that_ends_counts_as_a_step_and_as_a_purge_with_its_objects() -> None:
    metrics = Metrics()
    metrics.step_started("purge")
    metrics.step_ended("purge", "succeeded", 12.5, {"objects_removed": 600})
    metrics.step_ended("purge", "failed", 1.0, {})
    metrics.step_ended("backup", "succeeded", 3.0, {"bytes": 10})
    got = samples(metrics)
    assert got[("regclean_purges_total", frozenset({("outcome", "succeeded")}))] == 1.0
    assert got[("regclean_purges_total", frozenset({("outcome", "failed")}))] == 1.0
    assert got[("regclean_purge_objects_removed_total", frozenset())] == 600.0
    purge_ok = frozenset({("step", "purge"), ("outcome", "succeeded")})
    assert got[("regclean_step_duration_seconds_sum", purge_ok)] == 12.5
    assert got[("regclean_step_duration_seconds_bucket", purge_ok | {("le", "15.0")})] == 1.0
    assert got[("regclean_step_duration_seconds_bucket", purge_ok | {("le", "5.0")})] == 0.0
    assert got[("regclean_steps_total", frozenset({("step", "backup"), ("outcome", "succeeded")}))] == 1.0


def test_two_bots_count_apart_and_a_deep_copy_counts_into_the_same_registry() -> None:
    one, two = Metrics(), Metrics()
    copied = copy.deepcopy(one)
    copied.slack_calls.labels("chat.postMessage").inc()
    calls = ("regclean_slack_api_calls_total", frozenset({("method", "chat.postMessage")}))
    assert samples(one)[calls] == 1.0
    assert calls not in samples(two)


def test_a_store_that_does_not_answer_leaves_its_gauges_out_and_the_counters_in(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'regclean.db'}")
    metrics = Metrics(db)
    metrics.step_ended("backup", "succeeded", 3.0, {})
    assert samples(metrics)[("regclean_store_up", frozenset())] == 1.0
    db.engine.dispose()
    (tmp_path / "regclean.db").unlink()
    (tmp_path / "regclean.db").mkdir()  # no longer a database file: every query fails
    got = samples(metrics)
    assert got[("regclean_store_up", frozenset())] == 0.0
    assert ("regclean_run_state", frozenset({("state", "active")})) not in got
    assert got[("regclean_steps_total", frozenset({("step", "backup"), ("outcome", "succeeded")}))] == 1.0
    db.close()
