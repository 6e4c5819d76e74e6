"""Resampling one host's telemetry onto the uniform step: the numpy twin of the ETL's Spark resampling.

Both implementations follow these rules, so that a model sees the same rows in training and in serving:

1. **Buckets.** A sample at ``ts`` belongs to the bucket ``ceil(ts / step) * step``: the row stamped ``T``
   summarises ``(T - step, T]``, never anything after ``T``. A bucket's value is the mean of the bucket's
   non-missing samples of each metric.
2. **Short gaps.** Between two observed buckets, up to ``fill_limit`` missing buckets are inserted
   (``filled``) and every metric is carried forward from the last value at most ``fill_limit`` rows back.
   The same limit carries a metric that is missing in an observed bucket.
3. **Long gaps.** More missing buckets than ``fill_limit``: the gap stays a gap. Up to ``gap_rows`` empty rows
   (``gap``, never filled, never output) are placed just before the bucket that ends the gap, so that a row
   window after the gap never reaches a value before it: windows shorter than ``gap_rows`` see only time
   that really lies within the window.

numpy only: the control plane imports this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Grid", "bucket", "densify", "forward_fill", "resample"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Grid:
    """One host's rows on the uniform step."""

    timestamps: IntArray
    """Bucket ends, epoch seconds, strictly increasing by multiples of the step."""
    values: FloatArray
    """``[rows, metrics]``; NaN = missing."""
    filled: BoolArray
    """Rows inserted into a short gap (their values are carried forward)."""
    gap: BoolArray
    """Rows that stand for a long gap: all NaN, not part of the output."""


def bucket(timestamps: IntArray, values: FloatArray, step: int) -> tuple[IntArray, FloatArray]:
    """Aggregate samples into ``ceil(ts / step) * step`` buckets (mean of non-missing values).

    Args:
        timestamps: Epoch seconds, any order.
        values: ``[samples, metrics]``, NaN = missing.
        step: Bucket width in seconds.

    Returns:
        Sorted bucket ends and their ``[buckets, metrics]`` means (NaN where a bucket had no value).
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    vals = np.asarray(values, dtype=np.float64)
    vals = vals.reshape(len(ts), vals.shape[-1] if vals.ndim == 2 else -1)
    ends = -(-ts // step) * step
    order = np.argsort(ends, kind="stable")
    ends, vals = ends[order], vals[order]
    uniq, starts = np.unique(ends, return_index=True)
    if len(uniq) == 0:
        return uniq.astype(np.int64), np.empty((0, vals.shape[1]))
    present = ~np.isnan(vals)
    sums = np.add.reduceat(np.where(present, vals, 0.0), starts, axis=0)
    counts = np.add.reduceat(present.astype(np.int64), starts, axis=0)
    means = np.full(sums.shape, np.nan)
    np.divide(sums, counts, out=means, where=counts > 0)
    return uniq.astype(np.int64), means


def densify(timestamps: IntArray, values: FloatArray, step: int, fill_limit: int, gap_rows: int) -> Grid:
    """Insert the rows of short gaps (``filled``) and of long gaps (``gap``) between observed buckets.

    Args:
        timestamps: Observed bucket ends, strictly increasing multiples of ``step``.
        values: ``[buckets, metrics]``.
        step: Grid step in seconds.
        fill_limit: Longest run of missing buckets that is filled.
        gap_rows: Empty rows that stand for a longer run (at most the run's length).

    Returns:
        The grid, not yet forward-filled.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    vals = np.asarray(values, dtype=np.float64)
    vals = vals.reshape(len(ts), vals.shape[-1] if vals.ndim == 2 else -1)
    if len(ts) == 0:
        empty = np.zeros(0, dtype=bool)
        return Grid(ts, vals, empty, empty)
    missing = np.zeros(len(ts), dtype=np.int64)
    missing[1:] = (np.diff(ts) // step) - 1
    if (missing < 0).any():
        raise ValueError("timestamps must be strictly increasing multiples of the step")
    long_gap = missing > fill_limit
    inserted = np.where(long_gap, np.minimum(missing, gap_rows), missing)
    # Each observed row i is preceded by inserted[i] rows stamped ts[i] - k * step (k = inserted[i]..1).
    position = np.arange(len(ts)) + np.cumsum(inserted)
    total = int(position[-1]) + 1
    out_ts = np.empty(total, dtype=np.int64)
    out_vals = np.full((total, vals.shape[1]), np.nan)
    filled = np.zeros(total, dtype=bool)
    gap = np.zeros(total, dtype=bool)
    out_ts[position] = ts
    out_vals[position] = vals
    owner = np.repeat(np.arange(len(ts)), inserted)
    if len(owner):
        # The inserted row of rank r (0-based) before observed row i sits (inserted[i] - r) steps before it.
        rank = np.arange(len(owner)) - (np.cumsum(inserted) - inserted)[owner]
        back = inserted[owner] - rank
        rows = position[owner] - back
        out_ts[rows] = ts[owner] - back * step
        filled[rows] = ~long_gap[owner]
        gap[rows] = long_gap[owner]
    return Grid(out_ts, out_vals, filled, gap)


def forward_fill(values: FloatArray, gap: BoolArray, limit: int) -> FloatArray:
    """Carry each metric forward over at most ``limit`` rows; ``gap`` rows stay empty.

    A missing value at row ``i`` takes the last non-missing value among rows ``i - limit .. i - 1``.

    Args:
        values: ``[rows, metrics]``.
        gap: Rows never filled.
        limit: Rows a value may be carried.

    Returns:
        A filled copy.
    """
    vals = np.array(values, dtype=np.float64, copy=True)
    if limit <= 0 or len(vals) == 0:
        return vals
    rows = np.arange(len(vals))[:, None]
    last_seen = np.where(~np.isnan(vals), rows, -1)
    last_seen = np.maximum.accumulate(last_seen, axis=0)
    source = np.where(last_seen >= 0, last_seen, 0)
    candidate = np.take_along_axis(vals, source, axis=0)
    take = np.isnan(vals) & (last_seen >= 0) & (rows - last_seen <= limit) & ~gap[:, None]
    vals[take] = candidate[take]
    return vals


def resample(timestamps: IntArray, values: FloatArray, step: int, fill_limit: int, gap_rows: int) -> Grid:
    """Bucket, densify and forward-fill one host's samples (rules in the module docstring).

    Args:
        timestamps: Sample times, epoch seconds.
        values: ``[samples, metrics]``, NaN = missing.
        step: Grid step in seconds.
        fill_limit: Longest run of missing buckets (and per-metric missing values) that is filled.
        gap_rows: Empty rows kept for a long gap; at least the longest feature window.

    Returns:
        The host's grid (``gap`` rows included; drop them for output).
    """
    ts, vals = bucket(timestamps, values, step)
    grid = densify(ts, vals, step, fill_limit, max(gap_rows, fill_limit + 1))
    return Grid(grid.timestamps, forward_fill(grid.values, grid.gap, fill_limit), grid.filled, grid.gap)
