"""numpy resampling (the control plane's twin of the ETL's): buckets, short gaps filled, long gaps kept."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.features.grid import bucket, densify, forward_fill, resample

NAN = np.nan


def test_a_sample_belongs_to_the_bucket_that_ends_at_or_after_it():
    ts = np.array([1, 60, 61, 119, 120, 121], dtype=np.int64)
    values = np.array([[1.0], [3.0], [10.0], [20.0], [NAN], [7.0]])
    ends, means = bucket(ts, values, 60)
    assert ends.tolist() == [60, 120, 180]
    assert means[:, 0].tolist() == [2.0, 15.0, 7.0]  # (60, 120]: 10, 20 and a missing value


def test_a_bucket_without_any_value_of_a_metric_is_missing():
    ends, means = bucket(np.array([30, 31], dtype=np.int64), np.array([[NAN, 1.0], [NAN, 3.0]]), 60)
    assert ends.tolist() == [60]
    assert np.isnan(means[0, 0]) and means[0, 1] == 2.0


def test_short_gaps_are_filled_and_long_ones_stand_as_empty_rows_before_the_next_step():
    ts = np.array([60, 180, 600], dtype=np.int64)  # one missing step, then six
    grid = densify(ts, np.array([[1.0], [2.0], [3.0]]), 60, fill_limit=2, gap_rows=4)
    assert grid.timestamps.tolist() == [60, 120, 180, 360, 420, 480, 540, 600]
    assert grid.filled.tolist() == [False, True, False, False, False, False, False, False]
    assert grid.gap.tolist() == [False, False, False, True, True, True, True, False]
    assert np.isnan(grid.values[[1, 3, 4, 5, 6], 0]).all()


def test_a_long_gap_shorter_than_gap_rows_is_kept_whole():
    ts = np.array([60, 300], dtype=np.int64)
    grid = densify(ts, np.array([[1.0], [2.0]]), 60, fill_limit=1, gap_rows=10)
    assert grid.timestamps.tolist() == [60, 120, 180, 240, 300]
    assert grid.gap.tolist() == [False, True, True, True, False]


def test_densify_refuses_unordered_steps():
    with pytest.raises(ValueError, match="increasing"):
        densify(np.array([120, 60], dtype=np.int64), np.zeros((2, 1)), 60, 1, 1)


def test_forward_fill_reaches_at_most_limit_rows_and_never_into_gap_rows():
    values = np.array([[1.0], [NAN], [NAN], [NAN], [5.0], [NAN]])
    gap = np.array([False, False, False, False, False, True])
    filled = forward_fill(values, gap, limit=2)
    assert filled[:, 0].tolist()[:5] == [1.0, 1.0, 1.0, pytest.approx(NAN, nan_ok=True), 5.0]
    assert np.isnan(filled[3, 0]) and np.isnan(filled[5, 0])


def test_resample_end_to_end_with_a_missing_metric_per_column():
    ts = np.array([59, 120, 240, 1000], dtype=np.int64)
    values = np.array([[1.0, NAN], [2.0, 5.0], [4.0, NAN], [7.0, 1.0]])
    grid = resample(ts, values, 60, fill_limit=2, gap_rows=3)
    parts = zip(grid.timestamps, grid.values, grid.filled, grid.gap, strict=True)
    rows = {int(t): (v.tolist(), f, g) for t, v, f, g in parts}
    assert rows[60][0][0] == 1.0 and np.isnan(rows[60][0][1])
    assert rows[180] == ([2.0, 5.0], True, False)  # inserted, carried forward
    assert rows[240] == ([4.0, 5.0], False, False)  # mem carried from two rows back
    assert [t for t, (_, _, g) in rows.items() if g] == [840, 900, 960]  # max(gap_rows, fill_limit + 1)
    assert rows[1020][0] == [7.0, 1.0]


def test_empty_input():
    grid = resample(np.zeros(0, dtype=np.int64), np.zeros((0, 2)), 60, 1, 1)
    assert len(grid.timestamps) == 0 and grid.values.shape == (0, 2)
