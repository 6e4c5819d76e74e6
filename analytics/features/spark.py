"""The Spark implementation of the feature specification (batch: ETL, training, backtests).

Input: one row per host and step on the uniform grid, as the ETL's resampling produces it (long gaps stand as
rows whose metrics are null, so a row window never reaches across one). Output: the features, in
``FEATURE_NAMES`` order, over ``Window.partitionBy("host_id").orderBy("timestamp")``.

Spark re-aggregates a sliding frame for every row (cost grows with the frame) and every window stage copies
whole rows, while running frames and ``lag`` cost O(1) per row. So the features take two window stages:

1. running sums of the quantised values (:data:`~analytics.features.spec.QUANTUM`), their squares, counts and
   time indices (exact longs); extremes over the shortest min/max window; 5-row EWMA blocks; a few raw lags;
   running maxima for ``since_high``;
2. ``lag`` of those at the window lengths; then plain arithmetic: window sums are exact integer differences
   (identical to the numpy implementation's), longer extremes and EWMAs combine lagged blocks.

:class:`FeaturePlan` hands out the columns of each stage so that the ETL can compute its labels in the same
stages; :func:`add_features` runs them on their own. The numpy twin is :mod:`analytics.features.online`.

The columns are Spark SQL text (:mod:`analytics.sqltext`, PySpark's function names): built with PySpark's
``Column`` API, these few hundred expressions cost some 26,000 py4j round trips before Spark did any work.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from analytics import sqltext as sql
from analytics.features import FEATURES
from analytics.features.spec import QUANTUM, FeatureSpec, Kind, ewma_weights, rows_for
from analytics.sqltext import Expr, Named, Window, WindowSpec

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

__all__ = ["MAX_TIME_INDEX", "FeaturePlan", "add_features", "host_window", "with_inputs"]

MAX_TIME_INDEX = 2_000_000
"""Longest span, in steps, of one frame (about 3.8 years at 60 s): bounds the exact long sums of slopes."""
_DAY = 86_400
_EWMA_BLOCK = 5
_QUANTISED = frozenset({Kind.MEAN, Kind.STD, Kind.SLOPE, Kind.TIME_TO_FULL})
_EXTREMES = {Kind.MIN: "min", Kind.MAX: "max"}
# Running sums each window kind needs: count, sum, sum of squares, time index sums.
_PARTS = {
    Kind.MEAN: ("c", "s"),
    Kind.STD: ("c", "s", "qq"),
    Kind.SLOPE: ("c", "s", "sx", "sxx", "sxy"),
    Kind.TIME_TO_FULL: ("c", "s", "sx", "sxx", "sxy"),
}


def host_window() -> WindowSpec:
    """Every feature's window: one host, in time order."""
    return Window.partitionBy("host_id").orderBy("timestamp")


class FeaturePlan:
    """The columns of the two window stages and of the final projection, for one grid step."""

    def __init__(self, step_seconds: int, time_range: tuple[int, int]):
        self.step = step_seconds
        self.origin = time_range[0] // step_seconds
        if time_range[1] // step_seconds - self.origin > MAX_TIME_INDEX:
            raise ValueError(
                f"the data spans more than {MAX_TIME_INDEX:,} steps of {step_seconds} s; "
                "run the ETL on shorter periods or with a longer --step"
            )
        quantised = [f for f in FEATURES if f.kind in _QUANTISED]
        self.prefix_lags: dict[tuple[str, str], set[int]] = {}
        for f in quantised:
            for part in _PARTS[f.kind]:
                self.prefix_lags.setdefault((part, f.source or ""), set()).add(rows_for(f, self.step))
        self.quantised = sorted({f.source or "" for f in quantised})
        extremes = [f for f in FEATURES if f.kind in _EXTREMES]
        self.block = min((rows_for(f, self.step) for f in extremes), default=1)
        self.blocked = {
            f.name for f in extremes if self.block > 1 and rows_for(f, self.step) % self.block == 0
        }
        self.block_lags: dict[tuple[str, str], set[int]] = {}
        for f in extremes:
            if f.name in self.blocked:
                key = (_EXTREMES[f.kind], f.source or "")
                lags = {j * self.block for j in range(1, rows_for(f, self.step) // self.block)}
                self.block_lags.setdefault(key, set()).update(lags)
        self.ewma = [f for f in FEATURES if f.kind is Kind.EWMA]
        self.raw_lags: dict[str, set[int]] = {}
        for f in FEATURES:
            if f.kind in {Kind.LAG, Kind.RATE}:
                self.raw_lags.setdefault(f.source or "", set()).add(rows_for(f, self.step))
            if f.kind is Kind.EWMA:
                self.raw_lags.setdefault(f.source or "", set()).update(range(1, self._ewma_block_rows(f)))

    def _ewma_block_rows(self, f: FeatureSpec) -> int:
        """Rows of one EWMA block: 5 when the window is a multiple of 5 rows, else the whole window."""
        rows = rows_for(f, self.step)
        return _EWMA_BLOCK if rows % _EWMA_BLOCK == 0 else rows

    # ---------------------------------------------------------------- stage 1
    def stage1(self) -> list[Named]:
        """Running sums, base extremes, EWMA blocks, raw lags and running maxima."""
        w = host_window()
        running = w.rowsBetween(Window.unboundedPreceding, 0)
        x = (sql.col("timestamp") / sql.lit(self.step)).cast("long") - sql.lit(self.origin)
        cols: list[Named] = []
        for r in self.quantised:
            q = sql.floor(sql.col(r) * sql.lit(float(QUANTUM)) + sql.lit(0.5)).cast("long")
            xp = sql.when(q.isNotNull(), x)
            parts = {"c": sql.count(q), "s": sql.sum(q), "qq": sql.sum(q * q), "sx": sql.sum(xp)}
            parts |= {"sxx": sql.sum(xp * xp), "sxy": sql.sum(x * q)}
            cols += [
                agg.over(running).alias(f"_{p}_{r}") for p, agg in parts.items() if (p, r) in self.prefix_lags
            ]
        block = w.rowsBetween(-(self.block - 1), 0)
        for op, r in sorted(self.block_lags):
            cols.append((sql.min(r) if op == "min" else sql.max(r)).over(block).alias(f"_{op}_{r}"))
        for r, lags in sorted(self.raw_lags.items()):
            cols += [sql.lag(r, k).over(w).alias(f"_lag{k}_{r}") for k in sorted(lags)]
        for f in FEATURES:
            if f.kind is Kind.SINCE_HIGH:
                y, ts = sql.col(f.source or ""), sql.col("timestamp")
                cols += [
                    sql.max(sql.when(y >= f.threshold, ts)).over(running).alias(f"_high_{f.name}"),
                    sql.max(sql.when(y.isNotNull(), ts)).over(running).alias(f"_seen_{f.name}"),
                ]
        return cols

    def _raw(self, src: str, k: int) -> Expr:
        return sql.col(src) if k == 0 else sql.col(f"_lag{k}_{src}")

    def _ewma_block(self, f: FeatureSpec) -> tuple[Expr, Expr]:
        """Weighted sum and weight of the newest block of rows (the lagged blocks are added in stage 2)."""
        weights = ewma_weights(f, self.step)[: self._ewma_block_rows(f)]
        terms = [(self._raw(f.source or "", k), w) for k, w in enumerate(weights)]
        num = sql.plus([sql.coalesce(t * sql.lit(w), sql.lit(0.0)) for t, w in terms])
        den = sql.plus([sql.when(t.isNotNull(), sql.lit(w)).otherwise(sql.lit(0.0)) for t, w in terms])
        return num, den

    def stage1b(self) -> list[Named]:
        """EWMA blocks (plain expressions of stage 1's lags, materialised so that stage 2 can lag them)."""
        cols: list[Named] = []
        for f in self.ewma:
            num, den = self._ewma_block(f)
            cols += [num.alias(f"_ewn_{f.name}"), den.alias(f"_ewd_{f.name}")]
        return cols

    # ---------------------------------------------------------------- stage 2
    def stage2(self) -> list[Named]:
        """Lags of the running sums, the base extremes and the EWMA blocks."""
        w = host_window()
        cols: list[Named] = []
        for (part, r), lags in sorted(self.prefix_lags.items()):
            cols += [sql.lag(f"_{part}_{r}", n).over(w).alias(f"_{part}_{r}_{n}") for n in sorted(lags)]
        for (op, r), lags in sorted(self.block_lags.items()):
            cols += [sql.lag(f"_{op}_{r}", k).over(w).alias(f"_{op}_{r}_{k}") for k in sorted(lags)]
        for f in self.ewma:
            block = self._ewma_block_rows(f)
            for j in range(1, rows_for(f, self.step) // block):
                for part in ("ewn", "ewd"):
                    name = f"_{part}_{f.name}"
                    cols.append(sql.lag(name, j * block).over(w).alias(f"{name}_{j}"))
        return cols

    # ---------------------------------------------------------------- final projection
    def _window_sum(self, part: str, r: str, n: int) -> Expr:
        """Exact sum over the last ``n`` rows: running sum now minus the running sum ``n`` rows back."""
        return sql.col(f"_{part}_{r}") - sql.coalesce(sql.col(f"_{part}_{r}_{n}"), sql.lit(0).cast("long"))

    def _mean(self, r: str, n: int) -> Expr:
        cnt, s = self._window_sum("c", r, n), self._window_sum("s", r, n)
        return sql.try_divide(s.cast("double"), (cnt * QUANTUM).cast("double"))

    def _std(self, r: str, n: int) -> Expr:
        cnt, s, qq = (self._window_sum(p, r, n) for p in ("c", "s", "qq"))
        var = sql.try_divide((cnt * qq - s * s).cast("double"), (cnt * (cnt - 1)).cast("double"))
        return sql.when(cnt > 1, sql.sqrt(var) / sql.lit(float(QUANTUM)))

    def _slope(self, r: str, n: int) -> Expr:
        cnt, s, sx, sxx, sxy = (self._window_sum(p, r, n) for p in ("c", "s", "sx", "sxx", "sxy"))
        num = (cnt * sxy - sx * s).cast("double")
        den = (cnt * sxx - sx * sx).cast("double")
        return sql.when(cnt > 1, num / (den * sql.lit(float(QUANTUM * self.step))))

    def _extreme(self, f: FeatureSpec) -> Expr:
        kind, src, n = f.kind, f.source or "", rows_for(f, self.step)
        op = _EXTREMES[kind]
        if f.name not in self.blocked:
            agg = sql.min if kind is Kind.MIN else sql.max
            return agg(sql.col(src)).over(host_window().rowsBetween(-(n - 1), 0))
        parts = [sql.col(f"_{op}_{src}")] + [
            sql.col(f"_{op}_{src}_{j * self.block}") for j in range(1, n // self.block)
        ]
        if len(parts) == 1:
            return parts[0]
        return sql.least(*parts) if kind is Kind.MIN else sql.greatest(*parts)

    def _ewma(self, f: FeatureSpec) -> Expr:
        block = self._ewma_block_rows(f)
        blocks = rows_for(f, self.step) // block
        w = ewma_weights(f, self.step)
        num = [sql.col(f"_ewn_{f.name}")] + [
            sql.coalesce(sql.col(f"_ewn_{f.name}_{j}") * sql.lit(w[j * block]), sql.lit(0.0))
            for j in range(1, blocks)
        ]
        den = [sql.col(f"_ewd_{f.name}")] + [
            sql.coalesce(sql.col(f"_ewd_{f.name}_{j}") * sql.lit(w[j * block]), sql.lit(0.0))
            for j in range(1, blocks)
        ]
        total = sql.plus(den)
        return sql.when(total > 0, sql.plus(num) / total)

    def _since_high(self, f: FeatureSpec) -> Expr:
        ts, cap = sql.col("timestamp"), f.cap_seconds
        seen = sql.col(f"_seen_{f.name}")
        value = sql.least(ts - sql.col(f"_high_{f.name}"), sql.lit(cap)).cast("double")
        return sql.when(seen.isNotNull() & (ts - seen < cap), value)

    def _time_to_full(self, f: FeatureSpec) -> Expr:
        y = sql.col(f.source or "")
        headroom = sql.lit(f.threshold) - y
        slope = self._slope(f.source or "", rows_for(f, self.step))
        cap = float(f.cap_seconds)
        ttf = sql.least(sql.greatest(headroom / slope, sql.lit(0.0)), sql.lit(cap))
        return (
            sql.when(y.isNull() | slope.isNull(), sql.lit(None).cast("double"))
            .when(headroom <= 0, sql.lit(0.0))
            .when(slope <= 0, sql.lit(cap))
            .otherwise(ttf)
        )

    def feature(self, f: FeatureSpec) -> Expr:
        """The final expression of one feature (reads the stage columns)."""
        kind, src, n = f.kind, f.source or "", rows_for(f, self.step)
        build = {
            Kind.VALUE: lambda: sql.col(src),
            Kind.MEAN: lambda: self._mean(src, n),
            Kind.STD: lambda: self._std(src, n),
            Kind.SLOPE: lambda: self._slope(src, n),
            Kind.MIN: lambda: self._extreme(f),
            Kind.MAX: lambda: self._extreme(f),
            Kind.EWMA: lambda: self._ewma(f),
            Kind.LAG: lambda: self._raw(src, n),
            Kind.RATE: lambda: (sql.col(src) - self._raw(src, n)) / sql.lit(float(n * self.step)),
            Kind.SINCE_HIGH: lambda: self._since_high(f),
            Kind.HEADROOM: lambda: sql.lit(100.0) - sql.col(src),
            Kind.TIME_TO_FULL: lambda: self._time_to_full(f),
            Kind.RATIO: lambda: sql.try_divide(sql.col(src), sql.col(f.other[0]) + sql.lit(f.offset)),
            Kind.LOG_RATIO: lambda: sql.log1p(sql.col(src)) - sql.log1p(sql.col(f.other[0])),
            Kind.MAX_OF: lambda: sql.greatest(*[sql.col(c) for c in f.inputs]),
        }.get(kind)
        return build() if build is not None else _calendar(kind)

    def features(self) -> list[Named]:
        """Every feature, aliased, in ``FEATURE_NAMES`` order."""
        return [self.feature(f).cast("double").alias(f.name) for f in FEATURES]


def _calendar(kind: Kind) -> Expr:
    ts = sql.col("timestamp")
    if kind in {Kind.HOUR_SIN, Kind.HOUR_COS}:
        angle = sql.lit(2.0 * math.pi) * (ts % _DAY).cast("double") / sql.lit(float(_DAY))
    else:
        days = ts.cast("double") / sql.lit(float(_DAY)) + sql.lit(3.0)
        angle = sql.lit(2.0 * math.pi) * sql.pmod(days, sql.lit(7.0)) / sql.lit(7.0)
    return sql.sin(angle) if kind in {Kind.HOUR_SIN, Kind.DOW_SIN} else sql.cos(angle)


def with_inputs(frame: DataFrame) -> DataFrame:
    """``frame`` with every metric column the features read (absent ones added as missing)."""
    absent = sorted({c for f in FEATURES for c in f.inputs} - set(frame.columns))
    if not absent:
        return frame
    return sql.select(frame, "*", *[sql.lit(None).cast("double").alias(c) for c in absent])


def add_features(
    frame: DataFrame,
    step_seconds: int,
    keep: list[str] | None = None,
    time_range: tuple[int, int] | None = None,
) -> DataFrame:
    """Append every feature to a resampled frame.

    Args:
        frame: ``host_id``, ``timestamp`` (long, on the grid), the metric columns the features read (double,
            null = missing; absent ones are treated as missing), one row per host and step.
        step_seconds: The grid step.
        keep: Columns carried through besides the features (default: all of ``frame``'s). A feature whose name
            is a column of ``frame`` (the current values) replaces it.
        time_range: Smallest and largest timestamp of ``frame`` (computed with a Spark job when omitted).

    Returns:
        ``keep`` columns (minus those replaced), then the features in ``FEATURE_NAMES`` order.

    Raises:
        ValueError: The frame spans more than :data:`MAX_TIME_INDEX` steps.
    """
    if time_range is None:
        lo, hi = frame.selectExpr("min(timestamp)", "max(timestamp)").first() or (None, None)
        time_range = (int(lo or 0), int(hi or 0))
    plan = FeaturePlan(step_seconds, time_range)
    names = {f.name for f in FEATURES}
    carried = [c for c in (keep if keep is not None else frame.columns) if c not in names]
    stage1 = sql.select(sql.select(with_inputs(frame), "*", *plan.stage1()), "*", *plan.stage1b())
    stage2 = sql.select(stage1, "*", *plan.stage2())
    return sql.select(stage2, *carried, *plan.features())
