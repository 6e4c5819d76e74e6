"""The ETL: raw telemetry → quality checks → uniform grid → features → labels → partitioned Parquet.

Output layout (``FEATURES/``)::

    data/date=YYYY-MM-DD/part-*.parquet   host_id, timestamp, filled, FEATURE_NAMES (the first ones are the
                                          resampled metrics), label, exhausted, tte_seconds, and per resource
                                          label_<r>, exhausted_<r>, tte_<r>_seconds
    _feature_set.json                     feature-set version and digest, feature names and declarations,
                                          step, fill limit, label settings, input, rows, created_at
    quality_report.json                   the QualityReport

The directory appears complete or not at all: everything is written to a sibling temporary directory that is
renamed into place at the end (a failed run removes it).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyspark.sql import Observation
from pyspark.sql import functions as F

from agent.wire import METRIC_NAMES
from analytics import sqltext as sql
from analytics.etl.labels import LabelPlan, label_columns
from analytics.etl.options import MIN_TIMESTAMP, EtlOptions, choose_step
from analytics.etl.quality import (
    EtlInputError,
    conform,
    derive,
    flag,
    profile,
    read_input,
    record_row_checks,
    row_checks,
    stored_rows,
    valid_rows,
)
from analytics.etl.report import QualityReport
from analytics.etl.resample import FILLED, GAP, bucketed, to_grid
from analytics.features import FEATURE_NAMES, FEATURE_SET_DIGEST, FEATURE_SET_VERSION, FEATURES
from analytics.features.spark import FeaturePlan, with_inputs
from analytics.sampling import take_hosts

if TYPE_CHECKING:
    from collections.abc import Callable

    from pyspark.sql import Column, DataFrame, SparkSession

    from analytics.settings import LabelSettings, Settings

__all__ = ["FEATURE_SET_FILE", "QUALITY_REPORT_FILE", "FeaturedFrame", "build_feature_frame", "run_etl"]

FEATURE_SET_FILE = "_feature_set.json"
QUALITY_REPORT_FILE = "quality_report.json"
DATA_DIR = "data"


@dataclass
class FeaturedFrame:
    """The ETL's result before it is written: a lazy Spark frame and what is known about it."""

    step_seconds: int
    """The uniform step."""
    fill_limit_rows: int
    """Forward-fill limit in steps."""
    gap_rows: int
    """Empty rows that stood for each long gap (removed from ``frame``)."""
    report: QualityReport
    """Data-quality counts; :meth:`complete_report` adds what is observed while ``frame`` is computed (rows
    without metrics, values changed, duplicates), and :func:`run_etl` the output counts."""
    instrumented: DataFrame
    """:attr:`frame` plus the helper columns of the output counts (``_prev_ts``, ``_prev_filled``)."""
    duplicates: Observation
    """Counts the duplicate rows when the frame is computed."""
    row_checks: Observation
    """Counts the rows without metrics and the values changed when the frame is computed."""

    @property
    def frame(self) -> DataFrame:
        """host_id, timestamp, filled, ``FEATURE_NAMES``, label columns; one row per host and step."""
        return self.instrumented.drop(*_HELPERS)

    def complete_report(self) -> QualityReport:
        """Add the observed counts to the report; call only after an action on ``frame`` (waits for one)."""
        record_row_checks(self.row_checks.get, self.report)
        found = int(self.duplicates.get.get("duplicate") or 0)
        self.report.dropped["duplicate"] = found
        self.report.rows_kept = self.report.rows_read - sum(self.report.dropped.values())
        return self.report


def build_feature_frame(
    raw: DataFrame,
    label: LabelSettings,
    step_seconds: int | None = None,
    options: EtlOptions | None = None,
    input_name: str = "",
    on_phase: Callable[[str], None] | None = None,
) -> FeaturedFrame:
    """Quality checks, resampling, features and labels on a raw telemetry frame (nothing is written).

    Runs one Spark job (the quality profile, which also chooses the step); the returned frame is lazy. The
    output counts of the report (rows, gaps, null and label rates) are filled in by :func:`run_etl`.

    Args:
        raw: Canonical telemetry: ``host_id``, ``timestamp`` (epoch seconds), any metric columns.
        label: The exhaustion definition.
        step_seconds: Uniform step; default ``options.step_seconds``, else chosen from the data.
        options: Tolerances and fill limit.
        input_name: What ``raw`` is, for the report.
        on_phase: Told what the Spark jobs run from then on are for (a progress display).

    Returns:
        The featured, labelled frame with its step and quality report.
    """
    phase = on_phase or _silent
    opts = options or EtlOptions()
    report = QualityReport(input=input_name)
    report.derived_columns = dict(opts.columns)
    derived = _sampled(derive(raw, opts.columns), opts, report, phase)
    conformed, report.missing_metrics, report.ignored_columns = conform(derived)
    now = opts.now if opts.now is not None else int(time.time())
    flagged = flag(conformed, opts, now)
    phase("data-quality profile")
    time_range = profile(flagged, report)
    if time_range is None:
        raise EtlInputError(_nothing_usable(report))
    chosen = step_seconds or opts.step_seconds
    step = chosen or choose_step(report.median_interval_seconds)
    report.step_seconds, report.step_source = step, ("option" if chosen else "auto")
    fill_limit, gap_rows = opts.fill_limit(step), opts.gap_rows(step)
    report.fill_limit_rows = fill_limit
    duplicates, checks = Observation("duplicates"), Observation("row_checks")
    valid = valid_rows(flagged.observe(checks, *[sql.to_column(c) for c in row_checks()]))
    partitions = _partitions(raw.sparkSession, report.rows_read)
    grid = to_grid(bucketed(valid, step, fill_limit, gap_rows, partitions, duplicates), step, fill_limit)
    # Every window stage copies whole rows, and the labels' next-onset frame is the dearest: the three label
    # stages run first, on the narrow grid, then the two feature stages.
    features, labels = FeaturePlan(step, time_range), LabelPlan(label, step)
    grid = with_inputs(grid)
    label_cols = label_columns(label.resources)
    labelled = labels.staged(grid, alongside=_output_helpers())
    labelled = sql.select(labelled, *grid.columns, *_HELPERS, *labels.final())
    stage1 = sql.select(sql.select(labelled, "*", *features.stage1()), "*", *features.stage1b())
    stage2 = sql.select(stage1, "*", *features.stage2())
    # Gap rows go only after the last window (a filter is not pushed below a window).
    final = sql.select(
        stage2, "host_id", "timestamp", FILLED, GAP, *_HELPERS, *features.features(), *label_cols
    )
    instrumented = final.where(~F.col(GAP)).drop(GAP)
    return FeaturedFrame(step, fill_limit, gap_rows, report, instrumented, duplicates, checks)


_HELPERS = ("_prev_ts", "_prev_filled")


def _silent(description: str) -> None:
    """No progress display."""


def _sampled(
    raw: DataFrame, options: EtlOptions, report: QualityReport, phase: Callable[[str], None]
) -> DataFrame:
    """``raw`` restricted to a seeded random sample of whole hosts within ``options.sample_hosts`` hosts and
    ``options.max_rows`` rows (one job counts each host's rows, reading the host column only; none when the
    Parquet files' footers show that every row fits the budget)."""
    if (options.sample_hosts is None and options.max_rows is None) or "host_id" not in raw.columns:
        return raw  # no host column: conform() says so
    if options.sample_hosts is None and options.max_rows is not None:
        stored = stored_rows(raw)
        if stored is not None and stored <= options.max_rows:
            return raw  # every host fits the budget: no need to count them
    phase("counting each host's rows")
    host = F.col("host_id").cast("string")
    counted = raw.where(host.isNotNull()).groupBy(host.alias("host")).count().collect()
    rows = {str(row["host"]): int(row["count"]) for row in counted}
    kept = take_hosts(rows, options.sample_seed, max_hosts=options.sample_hosts, max_rows=options.max_rows)
    if len(kept) == len(rows):
        return raw
    report.sampled_hosts = {
        "hosts": len(kept),
        "of_hosts": len(rows),
        "rows": sum(rows[h] for h in kept),
        "of_rows": sum(rows.values()),
        "seed": options.sample_seed,
        "max_hosts": options.sample_hosts,
        "max_rows": options.max_rows,
        "automatic": options.sample_automatic,
    }
    return raw.where(host.isin(kept))


ROWS_PER_PARTITION = 600_000
"""Input rows per partition of the main job, at most (more partitions than ``spark.sql.shuffle.partitions``
when the input is large). Each task sorts its whole output (about 850 bytes a row) by date for the
partitioned write: at 10M rows in 8 partitions, local[2] with a 4 GB driver spilled 3.6 GB to disk; in 16
it spilled nothing, in the same time."""


def _partitions(spark: SparkSession, rows: int) -> int:
    """Partitions of the main job: the session's shuffle partitions, more for a large input."""
    configured = int(spark.conf.get("spark.sql.shuffle.partitions") or 200)
    return max(configured, -(-rows // ROWS_PER_PARTITION))


def _nothing_usable(report: QualityReport) -> str:
    """Why no row is left, and the likeliest fix."""
    where = f" in {report.input}" if report.input else ""
    if report.rows_read == 0:
        return f"no rows{where}"
    if report.rows_kept > 0:  # not all dropped, yet nothing came out
        return f"no rows came out{where} ({report.rows_kept:,} rows kept)"
    reasons = ", ".join(f"{k}={v:,}" for k, v in report.dropped.items() if v)
    text = f"no usable rows{where}: all {report.rows_read:,} rows were dropped ({reasons})"
    if report.dropped.get("invalid_timestamp") or report.dropped.get("future_timestamp"):
        text += (
            "; timestamps must be epoch seconds, milliseconds, microseconds or nanoseconds (told apart by "
            "size), a timestamp type or ISO-8601 text, between 2000 and now"
        )
        low, high = report.dropped_timestamps or (None, None)
        if low is not None and high is not None and low >= 0 and high < MIN_TIMESTAMP:
            text += (
                f". These run from {low:,} to {high:,}: offsets from the start of the trace (as in the "
                "Alibaba and Azure traces)? Put them on the calendar with --column, e.g. "
                "--column 'timestamp=timestamp + 1700000000' (the epoch second of the trace's start, if "
                "known: hour of day and day of week are features)"
            )
    return text


def _warnings(report: QualityReport, label: LabelSettings, largest: dict[str, float | None]) -> list[str]:
    """What looks wrong with the input although no rule dropped it."""
    out = []
    absent = [r for r in label.resources if r in report.missing_metrics]
    if label.resources and len(absent) == len(label.resources):
        out.append(
            f"the input has none of the labelled resources ({', '.join(label.resources)}): no row can be "
            "labelled, so nothing can be trained or scored"
        )
    for r in label.resources:
        clipped = report.clipped_above_100.get(r, 0)
        if report.rows_kept and clipped > report.rows_kept / 2:
            out.append(
                f"{r} is above 100 in {clipped:,} of {report.rows_kept:,} rows (clipped to 100, so those "
                "rows count as exhausted): utilisation is read in percent; is this column in another unit?"
            )
    fractions = {r: largest.get(r) for r in label.resources}
    fractions = {r: top for r, top in fractions.items() if top is not None and 0 < top <= 1.0}
    if fractions:
        listed = ", ".join(f"{r} (largest {top:.4g})" for r, top in fractions.items())
        out.append(
            f"{listed} never exceed 1.0: utilisation is read in percent (0-100); if these are fractions "
            f"(0-1), multiply them by 100, or no row will ever reach the {label.threshold_percent:g} % "
            "exhaustion threshold"
        )
    return out


def _output_helpers() -> list[sql.Named]:
    """The previous output row's timestamp and ``filled`` flag (gap rows skipped): running frames, O(1)."""
    host = sql.Window.partitionBy("host_id").orderBy("timestamp")
    before = host.rowsBetween(sql.Window.unboundedPreceding, -1)
    kept = ~sql.col(GAP)
    return [
        sql.last(sql.when(kept, sql.col("timestamp")), True).over(before).alias("_prev_ts"),
        sql.last(sql.when(kept, sql.col(FILLED)), True).over(before).alias("_prev_filled"),
    ]


def _output_counts(featured: FeaturedFrame, label: LabelSettings) -> list[Column]:
    """Aggregates of the written rows (observed while writing): rows, hosts, gaps, null and label rates."""
    step = featured.step_seconds
    interval = F.col("timestamp") - F.col("_prev_ts")
    return [
        F.count(F.lit(1)).alias("rows"),
        F.count(F.when(F.col("_prev_ts").isNull(), 1)).alias("hosts"),
        F.min("timestamp").alias("first"),
        F.max("timestamp").alias("last"),
        F.count(F.when(F.col(FILLED), 1)).alias("filled"),
        F.count(F.when(F.col(FILLED) & ~F.coalesce(F.col("_prev_filled"), F.lit(False)), 1)).alias("short"),
        F.count(F.when(interval > step, 1)).alias("long"),
        F.max(F.when(interval > step, interval)).alias("longest"),
        *[F.avg(F.col(m).isNull().cast("double")).alias(f"null_{m}") for m in METRIC_NAMES],
        *[_rate(c).alias(f"rate_{c}") for c in _rate_columns(label)],
        *[F.max(r).alias(f"max_{r}") for r in label.resources],
    ]


def _rate(column: str) -> Column:
    """Share of ones: a label's among its onset rows (those not inside an episode, the only rows that training
    and scoring read it on), an ``exhausted`` flag's among all rows."""
    value = F.col(column).cast("double")
    if column.startswith("label"):
        onset = F.col("exhausted" + column.removeprefix("label")) == 0
        value = F.when(onset, value)
    return F.avg(value)


def _rate_columns(label: LabelSettings) -> list[str]:
    """The 0/1 label columns whose share of ones the report gives (not the times to exhaustion)."""
    return [c for c in label_columns(label.resources) if not c.startswith("tte")]


def _record_output(featured: FeaturedFrame, label: LabelSettings, row: dict[str, Any]) -> None:
    """Put the observed output counts into the report."""
    report = featured.complete_report()
    report.output_rows, report.hosts = int(row["rows"]), int(row["hosts"])
    report.first_timestamp, report.last_timestamp = row["first"], row["last"]
    report.rows_filled, report.short_gaps = int(row["filled"]), int(row["short"])
    report.long_gaps, report.longest_gap_seconds = int(row["long"]), int(row["longest"] or 0)
    report.buckets = report.output_rows - report.rows_filled
    report.rows_merged = report.rows_kept - report.buckets
    report.null_rates = {m: round(float(row[f"null_{m}"] or 0.0), 6) for m in METRIC_NAMES}
    report.label_rates = {c: round(float(row[f"rate_{c}"] or 0.0), 6) for c in _rate_columns(label)}
    report.warnings = _warnings(report, label, {r: row[f"max_{r}"] for r in label.resources})


def _feature_set(featured: FeaturedFrame, label: LabelSettings, input_path: str) -> dict[str, Any]:
    report = featured.report
    return {
        "feature_set_version": FEATURE_SET_VERSION,
        "feature_set_digest": FEATURE_SET_DIGEST,
        "feature_names": list(FEATURE_NAMES),
        "features": [asdict(f) for f in FEATURES],
        "metric_names": list(METRIC_NAMES),
        "label_columns": label_columns(label.resources),
        "step_seconds": featured.step_seconds,
        "fill_limit_rows": featured.fill_limit_rows,
        "gap_rows": featured.gap_rows,
        "label": label.model_dump(mode="json"),
        "input": input_path,
        "rows": report.output_rows,
        "hosts": report.hosts,
        "first_timestamp": report.first_timestamp,
        "last_timestamp": report.last_timestamp,
        "partitioning": "date",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def run_etl(
    spark: SparkSession,
    input_path: str | Path,
    output_path: str | Path,
    settings: Settings,
    step_seconds: int | None = None,
    options: EtlOptions | None = None,
    on_phase: Callable[[str], None] | None = None,
) -> QualityReport:
    """Read telemetry, build features and labels, and write the ``FEATURES`` directory atomically.

    Args:
        spark: The session (see :func:`analytics.spark.create_spark_session`).
        input_path: A lake (``LAKE/telemetry/date=...``) or a Parquet file/directory, canonical schema.
        output_path: The ``FEATURES`` directory (local or shared filesystem); replaced if it exists.
        settings: Analytics settings (``settings.label`` defines the labels).
        step_seconds: Uniform step (default: chosen from the data).
        options: Data-quality and resampling knobs.
        on_phase: Told what the Spark jobs run from then on are for (see :class:`analytics.spark_progress`).

    Returns:
        The quality report (also written as ``quality_report.json``).
    """
    phase = on_phase or _silent
    source, target = str(input_path), Path(output_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    phase("reading the input")
    raw = read_input(spark, source)
    featured = build_feature_frame(raw, settings.label, step_seconds, options, source, on_phase=phase)
    try:
        date = F.date_format(F.timestamp_seconds(F.col("timestamp")), "yyyy-MM-dd")
        data_path = str(tmp / DATA_DIR)
        phase(f"resampling, {len(FEATURES)} features, labels -> Parquet")
        written = Observation("output")
        observed = featured.instrumented.observe(written, *_output_counts(featured, settings.label))
        (
            observed.drop(*_HELPERS)
            .withColumn("date", date)
            .write.partitionBy("date")
            # Dictionary pages only where they pay (the host id): on float features they cost CPU for nothing.
            .option("parquet.enable.dictionary", "false")
            .option("parquet.enable.dictionary#host_id", "true")
            .parquet(data_path)
        )
        _record_output(featured, settings.label, written.get)
        if featured.report.output_rows == 0:
            raise EtlInputError(_nothing_usable(featured.report))
        (tmp / QUALITY_REPORT_FILE).write_text(featured.report.to_json() + "\n")
        feature_set = _feature_set(featured, settings.label, source)
        (tmp / FEATURE_SET_FILE).write_text(json.dumps(feature_set, indent=2) + "\n")
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return featured.report


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename ``tmp`` to ``target``, replacing an existing ``target`` (removed only after the rename)."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:8]}"
        target.rename(old)
    try:
        tmp.rename(target)
    except OSError:
        if old is not None:
            old.rename(target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
