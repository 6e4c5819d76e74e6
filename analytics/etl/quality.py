"""Data quality: read canonical telemetry, enforce the schema, check ranges, find duplicates and clock skew.

Rules (each counted in the :class:`~analytics.etl.report.QualityReport`):

* **Input.** A lake (``PATH/telemetry/date=...``), Parquet files, or CSV files (``.csv``, ``.csv.gz``; with a
  header row, or columns ``_c0``, ``_c1``...; column types inferred, then converted as below). Anything else
  is refused with a clear error.
* **Schema.** ``host_id`` → string, ``timestamp`` → epoch seconds (long), every metric of
  ``agent.wire.METRIC_NAMES`` → double (text that is not a number → missing). Missing metric columns are
  added as missing; other columns are ignored (and listed).
* **Timestamp units.** A timestamp type (Parquet's, nanoseconds included) or an ISO-8601 text is
  converted. A number is read by its magnitude, row by row: below 10^11 seconds, then milliseconds,
  microseconds, and from 10^17 nanoseconds (the ranges of the years 2000-5000 in each unit are far apart, so
  no valid time is misread); fractions are floored. Rows converted from each unit are counted.
* **Rows dropped** (reason): no host or timestamp (``missing_key``); timestamp before 2000
  (``invalid_timestamp``: a unit or clock error); stamped beyond the tolerance ahead of the ETL's clock
  (``future_timestamp``); no metric value left (``no_metrics``); the same host and timestamp as an earlier
  row (``duplicate``: the first row read wins).
* **Values changed, row kept.** NaN/±inf → missing; negative (every metric is >= 0) → missing; utilisation
  above 100 % → 100 (Kubernetes containers report more than their request).
* **Clock skew.** A row whose timestamp is earlier than one read before it for the same host is counted as out
  of order (kept, and sorted into place), with the largest backwards step. "Read before" is the order of the
  input: files by path (a lake's ``date=YYYY-MM-DD`` directories sort in time), then rows within a file
  (CSV files: the order Spark reads them in). The clock looks at every row with a valid host and timestamp,
  those later dropped for having no metric value included.
"""

from __future__ import annotations

import gzip
import re
from functools import reduce
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

from pyspark.sql import Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from agent.wire import METRIC_NAMES, UTILISATION_METRICS
from analytics import sqltext as sql
from analytics.etl.options import MIN_TIMESTAMP

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pyspark.sql import Column, DataFrame, SparkSession

    from analytics.etl.options import EtlOptions
    from analytics.etl.report import QualityReport

__all__ = [
    "ARRIVAL",
    "TIMESTAMP_UNITS",
    "EtlInputError",
    "conform",
    "derive",
    "flag",
    "profile",
    "read_input",
    "record_row_checks",
    "row_checks",
    "stored_rows",
    "valid_rows",
]

ARRIVAL = "_arrival"
TIMESTAMP_UNITS: tuple[str, ...] = ("s", "ms", "us", "ns")
"""Units a numeric timestamp is read in, by magnitude (see the module docstring)."""
_UNIT = "_ts_unit"
_UNIT_FLOORS = (1e11, 1e14, 1e17)
"""Smallest magnitude read as milliseconds, microseconds, nanoseconds."""
_UNIT_LIMIT = 1e20
"""From here on a number is no time in any unit (the row is dropped as ``invalid_timestamp``)."""
_CSV_SUFFIXES = (".csv", ".csv.gz")
_PARQUET_MAGIC = b"PAR1"
DROP = "_drop"
VALID = "_valid"
_TIMED = "_timed"
_KEY_DROP = "_key_drop"
_NONFINITE, _NEGATIVE, _CLIPPED = "_nf_mask", "_neg_mask", "_clip_mask"
_KEYS = ("host_id", "timestamp")


class EtlInputError(ValueError):
    """The input cannot be read as telemetry (no such path, no host_id/timestamp column...)."""


def read_input(spark: SparkSession, path: str) -> DataFrame:
    """Read a telemetry lake (``PATH/telemetry/date=.../*.parquet``), Parquet files or CSV files.

    Raises:
        EtlInputError: A local path that does not exist, or a local file that is neither Parquet nor CSV.
    """
    local = Path(path)
    if "://" not in path and not local.exists():
        raise EtlInputError(f"input {path} does not exist")
    if (local / "telemetry").is_dir():
        path = str(local / "telemetry")
    if _input_format(path) == "csv":
        separator, header = _csv_layout(path)
        # Types inferred (one more pass over the file) so that --column expressions do arithmetic on numbers:
        # under ANSI mode "100000.0" as text cannot even be cast to a long. Text left over is try_cast later.
        reader = spark.read.option("header", str(header).lower()).option("mode", "PERMISSIVE")
        reader = reader.option("inferSchema", "true").option("ignoreLeadingWhiteSpace", "true")
        return reader.option("ignoreTrailingWhiteSpace", "true").option("sep", separator).csv(path)
    return spark.read.option("mergeSchema", "true").parquet(path)


def _csv_layout(path: str) -> tuple[str, bool]:
    """The field separator of a local CSV file (``,``, ``;``, tab or ``|``) and whether it has a header row.

    Both from the first line of the (first) file. That line is data, not a header, when at least half of its
    non-empty fields are numbers (a header names its columns; a telemetry row is mostly numbers): Alibaba's
    and Azure's traces come without a header, and their columns are then ``_c0``, ``_c1``... A remote path
    is read as comma-separated with a header.
    """
    local = Path(path)
    if "://" in path or not local.exists():
        return ",", True
    if local.is_dir():
        files = [p for p in _data_files(local) if p.name.lower().endswith(_CSV_SUFFIXES)]
        if not files:
            return ",", True
        local = files[0]
    opener = gzip.open if local.name.lower().endswith(".gz") else open
    with opener(local, "rt", errors="replace") as fh:
        first = fh.readline().strip()
    counts = {sep: first.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    separator = best if counts[best] else ","
    fields = [f.strip().strip('"').strip() for f in first.split(separator)]
    filled = [f for f in fields if f]
    return separator, not filled or 2 * sum(_is_number(f) for f in filled) < len(filled)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _data_files(directory: Path) -> list[Path]:
    """The files under ``directory`` that Spark reads (not hidden: ``.``/``_`` names), sorted by path."""
    return sorted(p for p in directory.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))


def _input_format(path: str) -> str:
    """``csv`` or ``parquet``: by suffix, and for a local file by its magic bytes."""
    local = Path(path)
    if "://" in path:
        return "csv" if path.lower().endswith(_CSV_SUFFIXES) else "parquet"
    if local.is_dir():
        names = [p.name.lower() for p in _data_files(local)]
        csv = any(n.endswith(_CSV_SUFFIXES) for n in names)
        return "csv" if csv and not any(n.endswith(".parquet") for n in names) else "parquet"
    if local.name.lower().endswith(_CSV_SUFFIXES):
        return "csv"
    with local.open("rb") as fh:
        magic = fh.read(len(_PARQUET_MAGIC))
    if magic != _PARQUET_MAGIC:
        raise EtlInputError(
            f"input {path} is not a Parquet file (it does not start with PAR1) and its name does not end in "
            f"{' or '.join(_CSV_SUFFIXES)}; give Parquet or CSV"
        )
    return "parquet"


def derive(raw: DataFrame, columns: Mapping[str, str]) -> DataFrame:
    """Add or replace columns by Spark SQL expressions over ``raw``'s own columns (``{name: expression}``).

    Raises:
        EtlInputError: An expression that does not parse or names a column the input lacks.
    """
    if not columns:
        return raw
    from pyspark.errors import PySparkException

    for name, expr in columns.items():
        try:
            raw.select(F.expr(expr)).schema  # noqa: B018 - analysis only, no job
        except PySparkException as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise EtlInputError(
                f"--column {name}={expr}: {first} (the input has columns {raw.columns})"
            ) from exc
    return raw.withColumns({name: F.expr(expr) for name, expr in columns.items()})


_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:/*")
_MAX_RANKED_FILES = 1 << 16


def stored_rows(frame: DataFrame) -> int | None:
    """The rows of the local Parquet files that ``frame`` reads, from their footers (no Spark job).

    An upper bound of ``frame``'s own rows when it is a projection or filter of its scan, as
    :func:`read_input`'s frames are. ``None`` when that is not known cheaply: not a file scan, a remote file
    system, or a file that is not Parquet (CSV has no footer).
    """
    import pyarrow.parquet as pq

    try:
        files = frame.inputFiles()
    except Exception:  # noqa: BLE001 - not a file scan
        return None
    total = 0
    for name in files:
        parsed = urlparse(name)
        if parsed.scheme not in ("", "file"):
            return None
        try:
            total += pq.read_metadata(unquote(parsed.path)).num_rows
        except (OSError, ValueError):  # not Parquet, or gone
            return None
    return total if files else None


def _arrival(raw: DataFrame) -> Column:
    """The order in which rows were written: files by path, then the row's position in its file.

    Spark packs files into partitions largest first, so the partition order (``monotonically_increasing_id``)
    is not the input's order when there are several files. Frames that are not a plain file scan (tests'
    in-memory frames) keep that order, which for them is the order of their rows.
    """
    try:
        files = sorted({_SCHEME.sub("", f) for f in raw.inputFiles()})
    except Exception:  # noqa: BLE001 - not a file scan
        files = []
    if not 1 < len(files) <= _MAX_RANKED_FILES or not _has_row_index(raw):
        return F.monotonically_increasing_id()
    ranks = F.create_map(*chain.from_iterable((F.lit(f), F.lit(i)) for i, f in enumerate(files)))
    path = F.regexp_replace(F.col("_metadata.file_path"), _SCHEME.pattern, "")
    rank = F.coalesce(ranks[path], F.lit(len(files)))  # a path spelled differently: after the others
    return rank.cast("long") * F.lit(1 << 40) + F.col("_metadata.row_index")


def _has_row_index(raw: DataFrame) -> bool:
    """Whether the source gives each row's position in its file (Parquet does, CSV does not)."""
    try:  # the struct's fields, not the field itself: a missing field would be logged as an error
        metadata = raw.select("_metadata").schema["_metadata"].dataType
    except Exception:  # noqa: BLE001 - AnalysisException: not a file source
        return False
    return isinstance(metadata, T.StructType) and "row_index" in metadata.fieldNames()


def _epoch(number: Column, whole: Column | None = None) -> tuple[Column, Column]:
    """Epoch seconds from a number in seconds, ms, µs or ns (by magnitude), and the unit's index.

    ``whole`` is the same number as a long where it is one: it is divided exactly (a double holds nanoseconds
    only to about 256 ns, which can tip the floor into the next second).
    """
    size = F.abs(number)
    unit = F.lit(0)
    for index, floor in enumerate(_UNIT_FLOORS, start=1):
        unit = F.when(size >= floor, F.lit(index)).otherwise(unit)
    divisor = F.lit(1).cast("long")
    for index, value in ((1, 10**3), (2, 10**6), (3, 10**9)):
        divisor = F.when(unit == index, F.lit(value).cast("long")).otherwise(divisor)
    seconds = F.when(size >= _UNIT_LIMIT, F.lit(0)).otherwise(F.floor(number / divisor))
    if whole is not None:
        # whole - (whole mod divisor) is an exact multiple of the divisor, and such a multiple (before 2115)
        # is exact as a double too, so the quotient is the exact floor.
        floored = (whole - F.pmod(whole, divisor)) / divisor
        seconds = F.when(whole.isNotNull(), floored).otherwise(seconds)
    return seconds.cast("long"), F.when(number.isNotNull(), unit).cast("byte")


def _timestamp_seconds(raw: DataFrame) -> tuple[Column, Column]:
    """The timestamp in epoch seconds and the unit it was given in (null for timestamp types and texts)."""
    dtype = raw.schema["timestamp"].dataType
    col = F.col("timestamp")
    none = F.lit(None).cast("byte")
    if isinstance(dtype, T.TimestampType | T.TimestampNTZType | T.DateType):
        return F.unix_timestamp(col.cast("timestamp")).cast("long"), none
    if isinstance(dtype, T.StringType):
        text = F.trim(col)
        number = text.try_cast("double")
        seconds, unit = _epoch(number, text.try_cast("long"))
        parsed = F.unix_timestamp(text.try_cast("timestamp")).cast("long")
        return F.when(number.isNotNull(), seconds).otherwise(parsed), unit
    return _epoch(col.cast("double"), col.cast("long") if isinstance(dtype, T.IntegralType) else None)


def conform(raw: DataFrame) -> tuple[DataFrame, list[str], list[str]]:
    """Enforce the canonical schema.

    Args:
        raw: Any frame with ``host_id`` and ``timestamp``.

    Returns:
        (``host_id``, ``timestamp``, metrics as raw doubles, arrival order, timestamp unit), the metrics that
        were absent, and the ignored columns.

    Raises:
        EtlInputError: ``host_id`` or ``timestamp`` is missing.
    """
    absent_keys = [k for k in _KEYS if k not in raw.columns]
    if absent_keys:
        text = f"input lacks required column(s) {absent_keys}; it has {raw.columns}"
        if raw.columns and all(re.fullmatch(r"_c\d+", c) for c in raw.columns):
            text += (
                " (the CSV has no header row, so its columns are numbered in order: name them with --column, "
                "e.g. --column host_id=_c0 --column timestamp=_c1 --column cpu_util=_c2)"
            )
        raise EtlInputError(text)
    missing = [m for m in METRIC_NAMES if m not in raw.columns]
    ignored = [c for c in raw.columns if c not in (*_KEYS, *METRIC_NAMES)]
    # try_cast: under ANSI mode a plain cast of a text that is not a number fails the whole job.
    metrics = [
        (F.col(m).try_cast("double") if m in raw.columns else F.lit(None).cast("double")).alias(m)
        for m in METRIC_NAMES
    ]
    seconds, unit = _timestamp_seconds(raw)
    frame = raw.select(
        F.col("host_id").cast("string").alias("host_id"),
        seconds.alias("timestamp"),
        *metrics,
        _arrival(raw).alias(ARRIVAL),
        unit.alias(_UNIT),
    )
    return frame, missing, ignored


def _mask(flags: list[sql.Expr]) -> sql.Expr:
    """An int whose bit i is set when ``flags[i]`` is true (one column instead of one per metric)."""
    return sql.plus(sql.when(flag, sql.lit(1 << i)).otherwise(sql.lit(0)) for i, flag in enumerate(flags))


def flag(conformed: DataFrame, options: EtlOptions, now: int) -> DataFrame:
    """Clean values and flag the rows to drop (narrow: no shuffle).

    Args:
        conformed: The output of :func:`conform`.
        options: Tolerances.
        now: The ETL's clock (epoch seconds).

    Returns:
        ``host_id``, ``timestamp``, ``_arrival``, the cleaned metrics, ``_drop`` (reason or null), the same
        for the key and timestamp checks alone, three per-metric bit masks (non-finite, negative, clipped)
        and the timestamp's unit.
    """
    # Simple boolean expressions only: Spark inlines them into the filter of valid_rows, and a nested CASE
    # there costs several times the whole read.
    raw = {m: sql.col(m) for m in METRIC_NAMES}
    infinite = sql.lit(float("inf"))
    finite = {m: ~sql.isnan(c) & (sql.abs(c) != infinite) for m, c in raw.items()}
    ok = {m: c.isNotNull() & finite[m] & (c >= 0) for m, c in raw.items()}
    nonfinite = {m: c.isNotNull() & ~finite[m] for m, c in raw.items()}
    negative = {m: c.isNotNull() & finite[m] & (c < 0) for m, c in raw.items()}
    clipped = {m: ok[m] & (c > 100) if m in UTILISATION_METRICS else sql.lit(False) for m, c in raw.items()}
    capped = {m: sql.least(c, sql.lit(100.0)) if m in UTILISATION_METRICS else c for m, c in raw.items()}
    clean = {m: sql.when(ok[m], capped[m]) for m in METRIC_NAMES}
    ts, host = sql.col("timestamp"), sql.col("host_id")
    key_ok = host.isNotNull() & (sql.length(host) > 0) & ts.isNotNull()
    ts_ok = (ts >= MIN_TIMESTAMP) & (ts <= now + options.max_future_seconds)
    any_ok = reduce(lambda a, b: a | b, ok.values())
    key_drop = (
        sql.when(~key_ok, sql.lit("missing_key"))
        .when(ts < MIN_TIMESTAMP, sql.lit("invalid_timestamp"))
        .when(ts > now + options.max_future_seconds, sql.lit("future_timestamp"))
    )
    drop = sql.coalesce(key_drop, sql.when(~any_ok, sql.lit("no_metrics")))
    return sql.select(
        conformed,
        "host_id",
        "timestamp",
        ARRIVAL,
        *[c.alias(m) for m, c in clean.items()],
        drop.alias(DROP),
        (key_ok & ts_ok & any_ok).alias(VALID),
        key_drop.alias(_KEY_DROP),
        (key_ok & ts_ok).alias(_TIMED),
        _mask([nonfinite[m] for m in METRIC_NAMES]).alias(_NONFINITE),
        _mask([negative[m] for m in METRIC_NAMES]).alias(_NEGATIVE),
        _mask([clipped[m] for m in METRIC_NAMES]).alias(_CLIPPED),
        _UNIT,
    )


def valid_rows(flagged: DataFrame) -> DataFrame:
    """The rows that pass every per-row check (duplicates are still there: resampling drops them)."""
    return flagged.where(VALID).select("host_id", "timestamp", ARRIVAL, *METRIC_NAMES)


def row_checks() -> list[sql.Named]:
    """Aggregates of the per-row checks over :func:`flag`'s output, for an Observation on the main job.

    The rows dropped for having no metric value, and the values changed on the rows that are kept. Observed
    while the ETL computes its output, so that :func:`profile` need not read the metric columns.
    """
    drop = sql.col(DROP)
    kept = drop.isNull()
    cols = [sql.count(sql.when(drop == "no_metrics", 1)).alias("no_metrics")]
    for name, mask, metrics in (
        ("nonfinite", _NONFINITE, METRIC_NAMES),
        ("negative", _NEGATIVE, METRIC_NAMES),
        ("clipped", _CLIPPED, UTILISATION_METRICS),
    ):
        for m in metrics:
            bit = sql.lit(1 << METRIC_NAMES.index(m))
            changed = kept & (sql.col(mask).bitwiseAND(bit) != 0)
            cols.append(sql.count(sql.when(changed, 1)).alias(f"{name}_{m}"))
    return cols


def record_row_checks(observed: dict[str, Any], report: QualityReport) -> None:
    """Put the observed :func:`row_checks` into the report."""
    report.dropped["no_metrics"] = int(observed.get("no_metrics") or 0)
    report.non_finite_nulled = {m: int(observed.get(f"nonfinite_{m}") or 0) for m in METRIC_NAMES}
    report.negative_nulled = {m: int(observed.get(f"negative_{m}") or 0) for m in METRIC_NAMES}
    report.clipped_above_100 = {m: int(observed.get(f"clipped_{m}") or 0) for m in UTILISATION_METRICS}


def profile(flagged: DataFrame, report: QualityReport) -> tuple[int, int] | None:
    """The clock: rows read, key and timestamp drops, out-of-order rows and the interval histogram (one job).

    Reads only the keys (the metric columns are pruned from the scan): the checks that need the metrics are
    observed on the main job (:func:`row_checks`), and duplicates are counted by the resampling's own
    aggregation. Rows with a valid host and timestamp count here even if they are later dropped for having
    no metric value.

    Only the keys are shuffled, and the rows are aggregated by their drop reason, unit and interval: a clean
    input collapses to a handful of groups, and the driver decodes the counts from them.

    Returns:
        The smallest and largest valid timestamp, or ``None`` when no row has a valid host and timestamp.
    """
    keys = flagged.select("host_id", "timestamp", ARRIVAL, _KEY_DROP, _TIMED, _UNIT)
    ts, timed = F.col("timestamp"), F.col(_TIMED)
    # One sort, in the order the rows were read: out-of-order rows, and the intervals (between consecutive
    # rows that move forward in time; in a time-ordered input these are the intervals).
    by_arrival = Window.partitionBy("host_id", timed).orderBy(ARRIVAL)
    whole_host = by_arrival.rowsBetween(Window.unboundedPreceding, Window.unboundedFollowing)
    seen_max = F.max(ts).over(by_arrival.rowsBetween(Window.unboundedPreceding, -1))
    previous = F.lag(ts).over(by_arrival)
    back = keys.repartition("host_id").select(
        "*",
        F.when(timed & (ts < seen_max), seen_max - ts).alias("_back"),
        (F.row_number().over(by_arrival) == 1).alias("_host_first"),
        # Capped so that the number of groups stays small on irregular data (steps are at most an hour).
        F.least(F.when(timed & (ts > previous), ts - previous), F.lit(_MAX_INTERVAL)).alias("_interval"),
    )
    checked = back.select("*", F.max(F.col("_back").isNotNull()).over(whole_host).alias("_host_back"))
    bad_time = F.col(_KEY_DROP).isin("invalid_timestamp", "future_timestamp")
    groups = checked.groupBy(_KEY_DROP, _UNIT, "_interval").agg(
        F.count(F.lit(1)).alias("n"),
        F.count("_back").alias("back_rows"),
        F.max("_back").alias("back_max"),
        F.count(F.when(F.col("_host_first") & F.col("_host_back"), 1)).alias("back_hosts"),
        F.min(F.when(timed, ts)).alias("first"),
        F.max(F.when(timed, ts)).alias("last"),
        F.min(F.when(bad_time, ts)).alias("bad_first"),
        F.max(F.when(bad_time, ts)).alias("bad_last"),
    )
    rows = groups.collect()
    _decode(rows, report)
    firsts = [int(r["first"]) for r in rows if r["first"] is not None]
    lasts = [int(r["last"]) for r in rows if r["last"] is not None]
    return (min(firsts), max(lasts)) if firsts else None


def _decode(rows: list[Any], report: QualityReport) -> None:
    dropped = dict.fromkeys(_ROW_REASONS, 0)
    intervals: dict[int, int] = {}
    units = dict.fromkeys(TIMESTAMP_UNITS, 0)
    for row in rows:
        n = int(row["n"])
        report.rows_read += n
        if row[_UNIT] is not None:
            units[TIMESTAMP_UNITS[row[_UNIT]]] += n
        if row[_KEY_DROP] is not None:
            dropped[row[_KEY_DROP]] += n
        if row["_interval"] is not None:
            intervals[int(row["_interval"])] = intervals.get(int(row["_interval"]), 0) + n
        report.out_of_order_rows += int(row["back_rows"])
        report.max_backwards_seconds = max(report.max_backwards_seconds, int(row["back_max"] or 0))
        report.hosts_with_backwards_timestamps += int(row["back_hosts"])
        if row["bad_first"] is not None:
            low, high = int(row["bad_first"]), int(row["bad_last"])
            seen = report.dropped_timestamps or [low, high]
            report.dropped_timestamps = [min(seen[0], low), max(seen[1], high)]
    # no_metrics (record_row_checks) and duplicates (resampling) are counted on the main job
    report.dropped = dropped | {"duplicate": 0}
    report.rows_kept = report.rows_read - sum(dropped.values())
    report.median_interval_seconds = _median(intervals)
    report.timestamp_units = {u: n for u, n in units.items() if u != "s" and n}


def _median(histogram: dict[int, int]) -> float | None:
    """The median of a histogram {value: count} (the lower middle value for an even count)."""
    total = sum(histogram.values())
    if total == 0:
        return None
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if 2 * seen >= total:
            return float(value)
    return None  # pragma: no cover - unreachable


_ROW_REASONS = ("missing_key", "invalid_timestamp", "future_timestamp", "no_metrics")
_MAX_INTERVAL = 86_400
