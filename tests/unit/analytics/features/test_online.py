"""The numpy implementation against hand-computed values, and its online (latest row) form."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest

from analytics.features import FEATURE_NAMES, history_seconds
from analytics.features.online import (
    compute_features,
    default_fill_limit,
    latest_features,
    latest_from_samples,
    sanitize,
)

T0 = int(datetime(2026, 3, 2, tzinfo=UTC).timestamp())  # a Monday, 00:00 UTC
NAN = np.nan


def col(name: str) -> int:
    return FEATURE_NAMES.index(name)


def series(n: int, step: int = 60, **metrics: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    columns = {k: np.asarray(v, dtype=float) for k, v in metrics.items()}
    return T0 + step * np.arange(n, dtype=np.int64), columns


def test_rolling_statistics_on_a_ramp():
    ts, cols = series(120, cpu_util=np.arange(120) * 0.5)  # +0.5 % per minute
    x = compute_features(ts, cols, 60)[-1]
    assert x[col("cpu_util")] == 59.5
    assert x[col("cpu_util_mean_5m")] == pytest.approx(np.mean(np.arange(115, 120) * 0.5))
    assert x[col("cpu_util_mean_60m")] == pytest.approx(np.mean(np.arange(60, 120) * 0.5))
    assert x[col("cpu_util_std_15m")] == pytest.approx(np.std(np.arange(105, 120) * 0.5, ddof=1))
    assert x[col("cpu_util_min_60m")] == 30.0 and x[col("cpu_util_max_15m")] == 59.5
    assert x[col("cpu_util_slope_15m")] == pytest.approx(0.5 / 60)
    assert x[col("cpu_util_slope_60m")] == pytest.approx(0.5 / 60)
    assert x[col("cpu_util_lag_15m")] == 52.0 and x[col("cpu_util_rate_5m")] == pytest.approx(2.5 / 300)
    assert x[col("cpu_util_headroom")] == 40.5
    assert x[col("cpu_util_time_to_full")] == pytest.approx(40.5 / (0.5 / 60))
    assert x[col("cpu_util_time_to_95_15m")] == pytest.approx(35.5 / (0.5 / 60))
    assert x[col("cpu_util_time_to_95_60m")] == pytest.approx(35.5 / (0.5 / 60))


def test_ewma_weights_halve_every_half_life():
    values = np.zeros(30)
    values[-1] = 10.0
    ts, cols = series(30, mem_util=values)
    w = 0.5 ** (np.arange(15) / 5)
    assert compute_features(ts, cols, 60)[-1][col("mem_util_ewma_15m")] == pytest.approx(10.0 / w.sum())


def test_missing_values_are_ignored_and_an_empty_window_is_missing():
    values = np.full(20, NAN)
    values[-3] = 50.0
    ts, cols = series(20, disk_util=values)
    x = compute_features(ts, cols, 60)
    last = x[-1]
    assert last[col("disk_util_mean_5m")] == 50.0
    assert math.isnan(last[col("disk_util_std_15m")]) and math.isnan(last[col("disk_util_slope_15m")])
    assert math.isnan(last[col("disk_util")]) and math.isnan(last[col("disk_util_time_to_full")])
    assert np.isnan(x[:10, col("disk_util_mean_60m")]).all()  # nothing seen yet
    assert np.isnan(x[-1, col("mem_util_mean_5m")])  # a metric that is absent altogether


def test_flat_windows_have_exactly_zero_deviation_and_slope():
    ts, cols = series(90, cpu_util=np.full(90, 33.3333333))
    x = compute_features(ts, cols, 60)[-1]
    assert x[col("cpu_util_std_60m")] == 0.0 and x[col("cpu_util_slope_60m")] == 0.0
    assert x[col("cpu_util_time_to_full")] == 6 * 3600  # not rising: the cap


def test_time_to_full_is_zero_without_headroom():
    ts, cols = series(20, mem_util=np.linspace(90, 100, 20))
    assert compute_features(ts, cols, 60)[-1][col("mem_util_time_to_full")] == 0.0


def test_time_to_95_is_zero_at_the_exhaustion_level_while_time_to_full_is_not():
    ts, cols = series(20, mem_util=np.linspace(80, 96, 20))
    x = compute_features(ts, cols, 60)[-1]
    assert x[col("mem_util_time_to_95_15m")] == 0.0
    # rel: the slope is of the quantised values
    assert x[col("mem_util_time_to_full")] == pytest.approx(4.0 / (16 / 19 / 60), rel=1e-4)


def test_since_high_counts_seconds_caps_and_needs_an_observation():
    values = np.full(400, 10.0)
    values[100] = 95.0
    ts, cols = series(400, cpu_util=values)
    x = compute_features(ts, cols, 60)[:, col("cpu_util_since_high")]
    assert x[100] == 0.0 and x[110] == 600.0
    assert x[50] == 3 * 3600 and x[399] == 3 * 3600  # never high within 3 h: the cap
    ts, cols = series(5, cpu_util=np.full(5, NAN))
    assert np.isnan(compute_features(ts, cols, 60)[:, col("cpu_util_since_high")]).all()


def test_cross_resource_ratios():
    ts, cols = series(
        1,
        cpu_util=[49.0],
        mem_util=[80.0],
        disk_util=[85.0],
        swap_util=[9.0],
        load1=[5.0],
        load15=[2.0],
        network_in=[math.e - 1],
        network_out=[0.0],
        disk_io=[4096.0],
        disk_iops=[3.0],
    )
    x = compute_features(ts, cols, 60)[0]
    assert x[col("load_per_cpu_util")] == 0.1
    assert x[col("load1_to_load15")] == pytest.approx(5 / 2.01)
    assert x[col("swap_per_mem_util")] == pytest.approx(9 / 81)
    assert x[col("net_in_out_log_ratio")] == pytest.approx(1.0)
    assert x[col("disk_bytes_per_op")] == 1024.0 and x[col("max_util")] == 85.0


def test_calendar_features_of_known_instants():
    monday_midnight = compute_features(np.array([T0]), {}, 60)[0]
    assert monday_midnight[col("hour_sin")] == pytest.approx(0.0, abs=1e-12)
    assert monday_midnight[col("hour_cos")] == pytest.approx(1.0)
    assert monday_midnight[col("dow_sin")] == pytest.approx(0.0, abs=1e-12)
    thursday_6am = compute_features(np.array([T0 + 3 * 86_400 + 6 * 3600]), {}, 60)[0]
    assert thursday_6am[col("hour_sin")] == pytest.approx(1.0)
    assert thursday_6am[col("dow_cos")] == pytest.approx(math.cos(2 * math.pi * 3.25 / 7))


def test_holes_in_the_series_are_long_gaps_no_window_bridges():
    ts, cols = series(200, cpu_util=np.full(200, 80.0))
    keep = np.r_[0:100, 190:200]  # 90 missing steps: longer than every window
    cols = {"cpu_util": np.r_[np.full(100, 10.0), np.full(10, 80.0)]}
    x = compute_features(ts[keep], cols, 60)
    first_after = x[100]
    assert first_after[col("cpu_util_mean_60m")] == 80.0  # nothing from before the gap
    assert math.isnan(first_after[col("cpu_util_lag_15m")])
    assert first_after[col("cpu_util_since_high")] == 3 * 3600  # time-based: the cap


def test_300_second_data():
    ts, cols = series(24, step=300, cpu_util=np.arange(24.0))
    x = compute_features(ts, cols, 300)[-1]
    assert x[col("cpu_util_mean_5m")] == 23.0  # one row
    assert x[col("cpu_util_mean_15m")] == 22.0  # three rows
    assert x[col("cpu_util_slope_15m")] == pytest.approx(1 / 300)
    assert x[col("cpu_util_lag_15m")] == 20.0


def test_latest_equals_the_last_row_and_reads_only_the_history_it_needs():
    rng = np.random.default_rng(7)
    n = 500
    cpu = rng.uniform(0, 100, n)
    cpu[rng.random(n) < 0.1] = NAN
    ts, cols = series(n, cpu_util=cpu, mem_util=rng.uniform(0, 100, n), load1=rng.uniform(0, 4, n))
    full = compute_features(ts, cols, 60)
    np.testing.assert_array_equal(latest_features(ts, cols, 60), full[-1])
    keep = ts > ts[-1] - history_seconds(60)
    tail = latest_features(ts[keep], {k: v[keep] for k, v in cols.items()}, 60)
    np.testing.assert_array_equal(tail, full[-1])


def test_latest_from_raw_samples_sanitises_and_resamples():
    ts = T0 + 60 * np.arange(30) + 7  # jittered off the grid
    cpu = np.full(30, 20.0)
    cpu[-1] = 130.0  # above 100 %: clipped
    cpu[-2] = -1.0  # negative: missing, then carried forward
    x = latest_from_samples(ts, {"cpu_util": cpu, "mem_util": np.full(30, np.inf)}, 60)
    assert x[col("cpu_util")] == 100.0
    assert math.isnan(x[col("mem_util")])
    assert default_fill_limit(60) == 5 and default_fill_limit(300) == 1 and default_fill_limit(600) == 1


def test_sanitize():
    raw = {"cpu_util": np.array([150.0, -2.0, np.nan, 5.0]), "disk_io": np.array([1e12, -1.0, 3, 4])}
    out = sanitize(raw)
    np.testing.assert_array_equal(out["cpu_util"], [100.0, NAN, NAN, 5.0])
    np.testing.assert_array_equal(out["disk_io"], [1e12, NAN, 3, 4])


def test_latest_needs_a_row():
    with pytest.raises(ValueError, match="row"):
        latest_features(np.zeros(0, dtype=np.int64), {}, 60)
