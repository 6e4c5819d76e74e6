"""Resampling real-looking 300 s and 60 s series with gaps onto the uniform step."""

from __future__ import annotations

import pytest

from analytics.etl import build_feature_frame
from analytics.settings import LabelSettings

pytestmark = pytest.mark.spark

T0 = 1_772_409_600


def grid(spark, rows, step=None):
    raw = spark.createDataFrame(rows, "host_id string, timestamp long, cpu_util double")
    featured = build_feature_frame(raw, LabelSettings(), step_seconds=step)
    out = featured.frame.select("host_id", "timestamp", "filled", "cpu_util", "cpu_util_lag_15m").collect()
    return featured, {(r["host_id"], r["timestamp"] - T0): r for r in out}


def test_300_second_and_60_second_series_with_gaps(spark):
    five = [
        ("nab", T0, 10.0),
        ("nab", T0 + 300, 20.0),  # then one step missing: filled (the limit is 5 min = 1 step)
        ("nab", T0 + 900, 40.0),  # then three steps missing: a long gap
        ("nab", T0 + 2100, 80.0),
        ("nab", T0 + 2340, 90.0),  # two samples in the step ending at T0 + 2400: averaged
        ("nab", T0 + 2370, 100.0),
    ]
    featured, out = grid(spark, five)
    assert featured.step_seconds == 300 and featured.fill_limit_rows == 1
    assert sorted(t for _, t in out) == [0, 300, 600, 900, 2100, 2400]
    assert out[("nab", 600)]["filled"] and out[("nab", 600)]["cpu_util"] == 20.0
    assert out[("nab", 2400)]["cpu_util"] == 95.0 and not out[("nab", 2400)]["filled"]
    assert out[("nab", 2100)]["cpu_util_lag_15m"] is None  # 15 min back lies in the long gap
    assert out[("nab", 900)]["cpu_util_lag_15m"] == 10.0
    assert featured.report.rows_kept == 6 and featured.report.median_interval_seconds == 300

    # 60 s data stamped a few seconds off the minute, with a 4-minute hole (filled) and a 20-minute one (not)
    one = [("pod", T0 + 60 * k + 17, float(k)) for k in range(40) if not (5 <= k < 8 or 20 <= k < 39)]
    featured, out = grid(spark, one, step=60)
    times = sorted(t for _, t in out)
    assert times[0] == 60 and all(t % 60 == 0 for t in times)  # each sample labels the minute it ends in
    assert sorted(t for (_, t), r in out.items() if r["filled"]) == [360, 420, 480]
    assert out[("pod", 480)]["cpu_util"] == 4.0  # carried forward from the sample at 4 min 17 s
    assert 1200 + 60 not in times and 60 * 39 + 60 in times  # the long gap stays a gap


def test_a_large_input_gets_more_partitions_so_no_task_sorts_too_much(spark):
    """The main job's partitions: the session's shuffle partitions, one more per ROWS_PER_PARTITION beyond."""
    from analytics.etl.pipeline import ROWS_PER_PARTITION, _partitions

    configured = int(spark.conf.get("spark.sql.shuffle.partitions"))
    assert _partitions(spark, 0) == configured
    assert _partitions(spark, configured * ROWS_PER_PARTITION) == configured
    assert _partitions(spark, configured * ROWS_PER_PARTITION + 1) == configured + 1
    assert _partitions(spark, 10_080_000) == max(configured, 17)
