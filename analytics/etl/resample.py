"""Resampling in Spark: buckets, short gaps filled, long gaps kept, per-metric forward fill.

The rules are those of :mod:`analytics.features.grid` (its numpy twin, which the control plane uses):
a sample at ``ts`` belongs to the row ``ceil(ts / step) * step`` (mean of the bucket's samples); runs of up
to ``fill_limit`` missing steps are inserted and carried forward; a longer run stays a gap, stood for by
``gap_rows`` empty rows just before the step that ends it (so no row window reaches across it), which are
dropped before output.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyspark.sql import functions as F

from agent.wire import METRIC_NAMES
from analytics import sqltext as sql
from analytics.etl.quality import ARRIVAL

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, Observation

__all__ = ["FILLED", "GAP", "bucketed", "to_grid"]

FILLED = "filled"
"""Output column: the row was inserted into a short gap (its values are carried forward)."""
GAP = "_gap"
"""Internal column: the row stands for a long gap (never output)."""
_BUCKET, _MISSING, _LONG, _INSERTED = "_bucket", "_missing", "_long", "_inserted"


def bucketed(
    valid: DataFrame,
    step: int,
    fill_limit: int,
    gap_rows: int,
    partitions: int,
    duplicates: Observation | None = None,
) -> DataFrame:
    """Drop duplicates, average the rows into steps and size the gap before each observed step.

    Args:
        valid: Rows that passed the per-row checks (:func:`analytics.etl.quality.valid_rows`).
        step: Grid step in seconds.
        fill_limit: Longest run of missing steps that is filled.
        gap_rows: Empty rows that stand for a longer run.
        partitions: Partitions of the shuffle by host.
        duplicates: Observes ``duplicate`` (rows dropped for repeating a host and timestamp) when the frame
            is computed.

    Returns:
        One row per observed (host, step), hash-partitioned by host: ``host_id``, ``_bucket``, the metric
        means, ``_n`` (distinct samples), and ``_missing`` / ``_long`` / ``_inserted`` describing the run of
        missing steps before it.
    """
    # Duplicates: the first row read of a (host, timestamp) wins. Hash aggregates (min_by of a struct would
    # need a sort-based one), no sort.
    first = [F.min_by(F.col(m), F.col(ARRIVAL)).alias(m) for m in METRIC_NAMES]
    copies = F.count(F.lit(1)).alias("_copies")
    unique = valid.repartition(partitions, "host_id").groupBy("host_id", "timestamp").agg(*first, copies)
    if duplicates is not None:
        unique = unique.observe(duplicates, F.sum(F.col("_copies") - 1).alias("duplicate"))
    bucket = ((F.col("timestamp") + F.lit(step - 1)) / F.lit(step)).cast("long") * F.lit(step)
    means = unique.groupBy("host_id", bucket.alias(_BUCKET)).agg(
        *[F.avg(m).alias(m) for m in METRIC_NAMES], F.count(F.lit(1)).alias("_n")
    )
    previous = sql.lag(_BUCKET).over(sql.Window.partitionBy("host_id").orderBy(_BUCKET))
    missing = sql.coalesce(((sql.col(_BUCKET) - previous) / sql.lit(step)).cast("long") - 1, sql.lit(0))
    long_gap = missing > fill_limit
    inserted = sql.when(long_gap, sql.least(missing, sql.lit(gap_rows))).otherwise(missing)
    return sql.select(means, "*", missing.alias(_MISSING), long_gap.alias(_LONG), inserted.alias(_INSERTED))


def to_grid(buckets: DataFrame, step: int, fill_limit: int) -> DataFrame:
    """Insert the rows of gaps and forward-fill each metric over at most ``fill_limit`` rows.

    Returns:
        ``host_id``, ``timestamp``, the metrics, ``filled``, ``_gap``: one row per host and step.
    """
    k = sql.col("_k")
    start = sql.lit(0).cast("long")
    exploded = sql.select(
        buckets,
        "host_id",
        _BUCKET,
        _LONG,
        *METRIC_NAMES,
        sql.explode(sql.sequence(start, sql.col(_INSERTED))).alias("_k"),
    )
    grid = sql.select(
        exploded,
        "host_id",
        (sql.col(_BUCKET) - k * sql.lit(step)).alias("timestamp"),
        *[sql.when(k == 0, sql.col(m)).alias(m) for m in METRIC_NAMES],
        ((k > 0) & ~sql.col(_LONG)).alias(FILLED),
        ((k > 0) & sql.col(_LONG)).alias(GAP),
    )
    # A sliding frame of fill_limit rows: measured cheaper here than a running last() of (time, value).
    previous = sql.Window.partitionBy("host_id").orderBy("timestamp").rowsBetween(-fill_limit, -1)
    filled = [
        sql.when(sql.col(GAP), sql.lit(None).cast("double"))
        .otherwise(sql.coalesce(sql.col(m), sql.last(sql.col(m), ignorenulls=True).over(previous)))
        .alias(m)
        for m in METRIC_NAMES
    ]
    return sql.select(grid, "host_id", "timestamp", *filled, FILLED, GAP)
