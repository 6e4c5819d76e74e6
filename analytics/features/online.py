"""The numpy implementation of the feature specification (online scoring; also vectorised for a series).

The control plane imports this module: numpy only, no pandas, no pyspark. The semantics are those of
:mod:`analytics.features.spec`; the Spark implementation (:mod:`analytics.features.spark`) computes the same
numbers (a parity test holds them equal to ~1e-9).

Typical use in the scorer, from one host's recent raw samples::

    vector = latest_from_samples(timestamps, {"cpu_util": cpu, "mem_util": mem, ...}, step_seconds=60)

where the samples cover at least :func:`analytics.features.history_seconds` before the latest one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import NDArray

from agent.wire import METRIC_NAMES, UTILISATION_METRICS
from analytics.features import FEATURES, history_seconds, lookback_rows
from analytics.features.grid import densify, resample
from analytics.features.spec import QUANTUM, FeatureSpec, Kind, ewma_weights, rows_for

__all__ = ["compute_features", "default_fill_limit", "latest_features", "latest_from_samples", "sanitize"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_DAY = 86_400
_WEEK_OFFSET_DAYS = 3  # 1970-01-01 was a Thursday: (days + 3) mod 7 = 0 on Mondays
FILL_SECONDS = 300
"""Default forward-fill limit, in seconds (at least one step)."""


def default_fill_limit(step_seconds: int, fill_seconds: int = FILL_SECONDS) -> int:
    """Rows that a value is carried forward over: ``fill_seconds`` (by default 5 min) worth, at least one."""
    return max(1, fill_seconds // step_seconds)


def sanitize(columns: Mapping[str, NDArray[np.floating]]) -> dict[str, FloatArray]:
    """Apply the ETL's range rules: non-finite and negative values missing, utilisation clipped to 100."""
    out: dict[str, FloatArray] = {}
    for name, raw in columns.items():
        col = np.array(raw, dtype=np.float64, copy=True)
        col[~np.isfinite(col) | (col < 0)] = np.nan
        if name in UTILISATION_METRICS:
            np.minimum(col, 100.0, out=col, where=~np.isnan(col))
        out[name] = col
    return out


class _Series:
    """One host's dense grid with cached windows, evaluated at the rows ``at``."""

    def __init__(self, timestamps: IntArray, columns: Mapping[str, FloatArray], step: int, at: IntArray):
        self.ts = timestamps
        self.cols = columns
        self.step = step
        self.at = at
        self._windows: dict[tuple[str, int], FloatArray] = {}

    def col(self, name: str) -> FloatArray:
        values = self.cols.get(name)
        return np.full(len(self.ts), np.nan) if values is None else values

    def now(self, name: str) -> FloatArray:
        return self.col(name)[self.at]

    def window(self, name: str, rows: int) -> FloatArray:
        """``[len(at), rows]``: the ``rows`` values ending at each evaluated row, oldest first."""
        key = (name, rows)
        if key not in self._windows:
            padded = np.concatenate((np.full(rows - 1, np.nan), self.col(name)))
            self._windows[key] = sliding_window_view(padded, rows)[self.at]
        return self._windows[key]

    def lag(self, name: str, rows: int) -> FloatArray:
        idx = self.at - rows
        out = np.full(len(self.at), np.nan)
        ok = idx >= 0
        out[ok] = self.col(name)[idx[ok]]
        return out


def _quantised(w: FloatArray) -> tuple[IntArray, IntArray]:
    """Per window row: the quantised values (0 where missing) and the count of present values."""
    present = ~np.isnan(w)
    q = np.floor(np.where(present, w, 0.0) * float(QUANTUM) + 0.5).astype(np.int64)
    return np.where(present, q, 0), present.sum(axis=1).astype(np.int64)


def _mean(w: FloatArray) -> FloatArray:
    q, count = _quantised(w)
    out = np.full(len(w), np.nan)
    np.divide(
        q.sum(axis=1).astype(np.float64), (count * QUANTUM).astype(np.float64), out=out, where=count > 0
    )
    return out


def _std(w: FloatArray) -> FloatArray:
    q, count = _quantised(w)
    s, qq = q.sum(axis=1), (q * q).sum(axis=1)
    var = np.full(len(w), np.nan)
    np.divide(
        (count * qq - s * s).astype(np.float64),
        (count * (count - 1)).astype(np.float64),
        out=var,
        where=count > 1,
    )
    return np.asarray(np.sqrt(var) / float(QUANTUM), dtype=np.float64)


def _slope(w: FloatArray, step: int) -> FloatArray:
    """Least-squares slope per second (x = position in the window, in steps), exact integer sums."""
    q, count = _quantised(w)
    x = np.where(~np.isnan(w), np.arange(w.shape[1], dtype=np.int64), 0)
    s, sx, sxx, sxy = q.sum(axis=1), x.sum(axis=1), (x * x).sum(axis=1), (x * q).sum(axis=1)
    num = (count * sxy - sx * s).astype(np.float64)
    den = (count * sxx - sx * sx).astype(np.float64)
    out = np.full(len(w), np.nan)
    np.divide(num, den * float(QUANTUM * step), out=out, where=count > 1)
    return out


def _ewma(w: FloatArray, weights: FloatArray) -> FloatArray:
    present = ~np.isnan(w)
    wts = weights[::-1]  # window rows are oldest first, weights newest first
    norm = (present * wts).sum(axis=1)
    out = np.full(len(w), np.nan)
    np.divide(np.where(present, w, 0.0) @ wts, norm, out=out, where=norm > 0)
    return out


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.full(len(num), np.nan)
    np.divide(num, den, out=out, where=~np.isnan(num) & ~np.isnan(den) & (den != 0))
    return out


def _since_high(s: _Series, spec: FeatureSpec) -> FloatArray:
    assert spec.source is not None
    x = s.col(spec.source)
    ts = s.ts.astype(np.float64)
    last_high = np.maximum.accumulate(np.where(x >= spec.threshold, ts, -np.inf))[s.at]
    last_seen = np.maximum.accumulate(np.where(~np.isnan(x), ts, -np.inf))[s.at]
    now = ts[s.at]
    cap = float(spec.cap_seconds)
    out = np.minimum(now - last_high, cap)
    out[now - last_seen >= cap] = np.nan
    return out


def _time_to_full(s: _Series, spec: FeatureSpec) -> FloatArray:
    assert spec.source is not None
    headroom = spec.threshold - s.now(spec.source)
    slope = _slope(s.window(spec.source, rows_for(spec, s.step)), s.step)
    cap = float(spec.cap_seconds)
    out = np.full(len(headroom), cap)
    rising = slope > 0
    np.divide(headroom, slope, out=out, where=rising)
    np.clip(out, 0.0, cap, out=out)
    out[headroom <= 0] = 0.0
    out[np.isnan(headroom) | np.isnan(slope)] = np.nan
    return out


def _feature(s: _Series, spec: FeatureSpec) -> FloatArray:
    kind, src = spec.kind, spec.source or ""
    rows = rows_for(spec, s.step)
    if kind is Kind.VALUE:
        return s.now(src)
    if kind is Kind.MEAN:
        return _mean(s.window(src, rows))
    if kind is Kind.STD:
        return _std(s.window(src, rows))
    if kind is Kind.MIN:
        return np.asarray(np.fmin.reduce(s.window(src, rows), axis=1), dtype=np.float64)
    if kind is Kind.MAX:
        return np.asarray(np.fmax.reduce(s.window(src, rows), axis=1), dtype=np.float64)
    if kind is Kind.SLOPE:
        return _slope(s.window(src, rows), s.step)
    if kind is Kind.EWMA:
        return _ewma(s.window(src, rows), np.asarray(ewma_weights(spec, s.step)))
    if kind is Kind.LAG:
        return s.lag(src, rows)
    if kind is Kind.RATE:
        return (s.now(src) - s.lag(src, rows)) / float(rows * s.step)
    if kind is Kind.SINCE_HIGH:
        return _since_high(s, spec)
    if kind is Kind.HEADROOM:
        return 100.0 - s.now(src)
    if kind is Kind.TIME_TO_FULL:
        return _time_to_full(s, spec)
    if kind is Kind.RATIO:
        return _ratio(s.now(src), s.now(spec.other[0]) + spec.offset)
    if kind is Kind.LOG_RATIO:
        return np.log1p(s.now(src)) - np.log1p(s.now(spec.other[0]))
    if kind is Kind.MAX_OF:
        return np.asarray(np.fmax.reduce(np.stack([s.now(c) for c in spec.inputs]), axis=0), dtype=np.float64)
    return _calendar(kind, s.ts[s.at])


def _calendar(kind: Kind, ts: IntArray) -> FloatArray:
    if kind in {Kind.HOUR_SIN, Kind.HOUR_COS}:
        angle = 2.0 * math.pi * (ts % _DAY).astype(np.float64) / _DAY
    else:
        days = ts.astype(np.float64) / _DAY + _WEEK_OFFSET_DAYS
        angle = 2.0 * math.pi * np.mod(days, 7.0) / 7.0
    out = np.sin(angle) if kind in {Kind.HOUR_SIN, Kind.DOW_SIN} else np.cos(angle)
    return np.asarray(out, dtype=np.float64)


def compute_features(
    timestamps: NDArray[np.integer],
    columns: Mapping[str, NDArray[np.floating]],
    step_seconds: int,
) -> FloatArray:
    """Every feature for every row of one host's resampled series (the vectorised form).

    Args:
        timestamps: Row times on the uniform grid (multiples of ``step_seconds``), strictly increasing; holes
            are long gaps (they are treated as missing rows, as the ETL does).
        columns: Resampled metric values per metric name (NaN = missing); absent metrics are all missing.
        step_seconds: The grid step.

    Returns:
        ``[rows, len(FEATURE_NAMES)]`` float64, in ``FEATURE_NAMES`` order, one row per input row.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    names = [m for m in METRIC_NAMES if m in columns]
    values = np.column_stack([np.asarray(columns[m], dtype=np.float64) for m in names]) if names else None
    grid = densify(
        ts,
        values if values is not None else np.empty((len(ts), 0)),
        step_seconds,
        fill_limit=0,
        gap_rows=lookback_rows(step_seconds),
    )
    dense = {m: grid.values[:, i] for i, m in enumerate(names)}
    series = _Series(grid.timestamps, dense, step_seconds, np.flatnonzero(~grid.gap))
    if len(ts) == 0:
        return np.empty((0, len(FEATURES)))
    return np.column_stack([_feature(series, f) for f in FEATURES])


def latest_features(
    timestamps: NDArray[np.integer],
    columns: Mapping[str, NDArray[np.floating]],
    step_seconds: int,
) -> FloatArray:
    """The feature vector of the latest row of one host's resampled series.

    Only the last :func:`analytics.features.history_seconds` of the series are read; supply at least that
    much history for the vector to equal the batch features of that row.

    Args:
        timestamps: Row times on the uniform grid, strictly increasing (not empty).
        columns: Resampled metric values per metric name.
        step_seconds: The grid step.

    Returns:
        ``[len(FEATURE_NAMES)]`` float64.
    """
    ts = np.asarray(timestamps, dtype=np.int64)
    if len(ts) == 0:
        raise ValueError("latest_features needs at least one row")
    start = int(np.searchsorted(ts, ts[-1] - history_seconds(step_seconds), side="right"))
    tail = {m: np.asarray(v, dtype=np.float64)[start:] for m, v in columns.items()}
    row: FloatArray = compute_features(ts[start:], tail, step_seconds)[-1]
    return row


def latest_from_samples(
    timestamps: NDArray[np.integer],
    columns: Mapping[str, NDArray[np.floating]],
    step_seconds: int,
    fill_limit: int | None = None,
) -> FloatArray:
    """Sanitise, resample and featurise one host's raw samples; return the latest row's vector.

    Args:
        timestamps: Raw sample times, epoch seconds (any order, any spacing).
        columns: Raw metric values per metric name.
        step_seconds: The model's step (``step_seconds`` of its ``_feature_set.json``).
        fill_limit: Forward-fill limit in rows (default :func:`default_fill_limit`).

    Returns:
        ``[len(FEATURE_NAMES)]`` float64 for the latest bucket.
    """
    clean = sanitize(columns)
    names = [m for m in METRIC_NAMES if m in clean]
    values = np.column_stack([clean[m] for m in names]) if names else np.empty((len(timestamps), 0))
    limit = default_fill_limit(step_seconds) if fill_limit is None else fill_limit
    ts = np.asarray(timestamps, dtype=np.int64)
    grid = resample(ts, values, step_seconds, limit, lookback_rows(step_seconds))
    keep = ~grid.gap
    resampled = {m: grid.values[keep, i] for i, m in enumerate(names)}
    return latest_features(grid.timestamps[keep], resampled, step_seconds)
