"""The Spark progress line: the phase the command names, the running stage's tasks (the status tracker's)."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from analytics.spark_progress import SparkProgress

pytestmark = pytest.mark.spark


def _slow_job(spark, partitions: int) -> None:
    rdd = spark.sparkContext.parallelize(range(partitions), partitions)
    rdd.map(lambda x: time.sleep(0.4) or x).collect()


def test_the_line_names_the_phase_and_counts_the_running_stages_tasks(spark):
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with SparkProgress(spark, poll_seconds=0.05, console=console) as progress:
        progress.phase("first phase")
        _slow_job(spark, 4)
        progress.phase("second phase")
        _slow_job(spark, 3)
    drawn = screen.getvalue()
    assert len(progress.stages_seen) >= 2
    assert "first phase" in drawn and "second phase" in drawn
    assert "/4 tasks" in drawn and "/3 tasks" in drawn


def test_disabled_it_draws_nothing_and_polls_nothing(spark):
    screen = io.StringIO()
    with SparkProgress(spark, disable=True, poll_seconds=0.05, console=Console(file=screen)) as progress:
        progress.phase("quiet")
        _slow_job(spark, 2)
    assert screen.getvalue() == ""
    assert progress._thread is None and not progress.stages_seen
