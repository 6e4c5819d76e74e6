"""The Spark ETL beside DuckDB computing the same window features on the same Parquet, in the same run.

    .venv/bin/python bench/etl.py                 # 1M and 10M rows (generates the lakes once, under --work)
    .venv/bin/python bench/etl.py --rows 1000000  # 1M only

For each size: a simulated fleet's lake (``cloudsense generate``, 500 hosts, 60 s), then

* **Spark**: ``cloudsense etl --input LAKE --output FEATURES --master local[2]`` as a fresh process, so the
  wall time includes the JVM start, the data-quality profile, resampling, every feature, the labels, the
  partitioned write and the quality report;
* **DuckDB**: every window feature of ``analytics.features.FEATURES`` written as plain SQL window
  functions (``avg``/``stddev_samp``/``regr_slope``/``min``/``max`` over row frames, ``lag``, running
  maxima) on the same Parquet files, written back to Parquet. No data quality, resampling or labels:
  DuckDB gets the easier job.

Goal (issue 3): Spark <= 8x DuckDB at 1M rows, <= 4x at 10M. Prints one table row per size.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.features import FEATURES, Kind, rows_for  # noqa: E402
from analytics.features.spec import FeatureSpec, ewma_weights  # noqa: E402

GOALS = {1_000_000: 8.0, 10_000_000: 4.0}


def _frame(n: int) -> str:
    return f"(PARTITION BY host_id ORDER BY timestamp ROWS BETWEEN {n - 1} PRECEDING AND CURRENT ROW)"


_HOST = "(PARTITION BY host_id ORDER BY timestamp)"
_RUNNING = "(PARTITION BY host_id ORDER BY timestamp ROWS UNBOUNDED PRECEDING)"


def _duck_expr(f: FeatureSpec, step: int) -> str:
    s, n, k = f.source, rows_for(f, step), f.kind
    aggregates = {Kind.MEAN: "avg", Kind.STD: "stddev_samp", Kind.MIN: "min", Kind.MAX: "max"}
    if k in aggregates:
        return f"{aggregates[k]}({s}) OVER {_frame(n)}"
    if k is Kind.SLOPE:
        return f"regr_slope({s}, timestamp) OVER {_frame(n)}"
    if k is Kind.EWMA:
        terms = [
            (s if i == 0 else f"lag({s}, {i}) OVER {_HOST}", w) for i, w in enumerate(ewma_weights(f, step))
        ]
        num = " + ".join(f"coalesce({t} * {w}, 0)" for t, w in terms)
        den = " + ".join(f"(CASE WHEN {t} IS NULL THEN 0 ELSE {w} END)" for t, w in terms)
        return f"({num}) / nullif({den}, 0)"
    if k is Kind.LAG:
        return f"lag({s}, {n}) OVER {_HOST}"
    if k is Kind.RATE:
        return f"({s} - lag({s}, {n}) OVER {_HOST}) / {n * step}"
    if k is Kind.SINCE_HIGH:
        high = f"max(CASE WHEN {s} >= {f.threshold} THEN timestamp END) OVER {_RUNNING}"
        seen = f"max(CASE WHEN {s} IS NOT NULL THEN timestamp END) OVER {_RUNNING}"
        cap = f.cap_seconds
        return f"CASE WHEN timestamp - {seen} < {cap} THEN least(timestamp - {high}, {cap}) END"
    if k is Kind.HEADROOM:
        return f"100 - {s}"
    if k is Kind.TIME_TO_FULL:
        slope = f"regr_slope({s}, timestamp) OVER {_frame(n)}"
        cap, level = f.cap_seconds, f.threshold
        return (
            f"CASE WHEN {s} IS NULL OR {slope} IS NULL THEN NULL WHEN {level} - {s} <= 0 THEN 0 "
            f"WHEN {slope} <= 0 THEN {cap} ELSE least(greatest(({level} - {s}) / {slope}, 0), {cap}) END"
        )
    if k is Kind.RATIO:
        return f"{s} / nullif({f.other[0]} + {f.offset}, 0)"
    if k is Kind.LOG_RATIO:
        return f"ln(1 + {s}) - ln(1 + {f.other[0]})"
    if k is Kind.MAX_OF:
        return "greatest(" + ", ".join(f.inputs) + ")"
    angle = {
        Kind.HOUR_SIN: "sin(2 * pi() * (timestamp % 86400) / 86400)",
        Kind.HOUR_COS: "cos(2 * pi() * (timestamp % 86400) / 86400)",
        Kind.DOW_SIN: "sin(2 * pi() * ((timestamp / 86400 + 3) % 7) / 7)",
        Kind.DOW_COS: "cos(2 * pi() * ((timestamp / 86400 + 3) % 7) / 7)",
    }
    return angle[k]


def duckdb_features(lake: Path, out: Path, step: int) -> float:
    """Seconds DuckDB takes to compute the window features of the lake and write them to Parquet."""
    import duckdb

    select = ", ".join(f"{_duck_expr(f, step)} AS {f.name}" for f in FEATURES if f.kind is not Kind.VALUE)
    source = f"read_parquet('{lake}/telemetry/*/*.parquet', hive_partitioning = true)"
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"COPY (SELECT *, {select} FROM {source}) TO '{out}' (FORMAT parquet)")
    con.close()
    return time.perf_counter() - started


def spark_etl(lake: Path, out: Path, master: str) -> float:
    """Seconds of ``cloudsense etl`` as a fresh process (JVM start included)."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    cli = [
        sys.executable,
        "-m",
        "analytics",
        "etl",
        "--input",
        str(lake),
        "--output",
        str(out),
        "--master",
        master,
    ]
    subprocess.run(
        cli, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"}
    )
    return time.perf_counter() - started


def ensure_lake(work: Path, rows: int, hosts: int) -> Path:
    from analytics.generate.fleet import GenerateSpec, generate

    lake = work / f"lake-{rows}"
    if not (lake / "telemetry").is_dir():
        days = rows / hosts / 1440
        print(f"generating {rows:,} rows ({hosts} hosts, {days:.2f} days) in {lake} ...", flush=True)
        generate(GenerateSpec(out=lake, hosts=hosts, days=days, seed=0), workers=os.cpu_count() or 1)
    return lake


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--hosts", type=int, default=500)
    parser.add_argument("--work", type=Path, default=ROOT / ".cloudsense" / "bench-etl")
    parser.add_argument("--master", default="local[2]")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    results = []
    for rows in args.rows:
        lake = ensure_lake(args.work, rows, args.hosts)
        duck = duckdb_features(lake, args.work / f"duckdb-{rows}.parquet", step=60)
        spark = spark_etl(lake, args.work / f"features-{rows}", args.master)
        results.append((rows, spark, duck))
        print(f"{rows:>12,} rows: spark {spark:.1f} s, duckdb {duck:.1f} s", flush=True)
    print()
    print(f"{'rows':>12}  {'Spark ETL (s)':>13}  {'DuckDB features (s)':>19}  {'ratio':>6}  {'goal':>5}")
    for rows, spark, duck in results:
        goal = GOALS.get(rows)
        mark = "" if goal is None else ("ok" if spark / duck <= goal else "MISSED")
        print(f"{rows:>12,}  {spark:>13.1f}  {duck:>19.1f}  {spark / duck:>5.1f}x  {goal or '-':>4}x {mark}")
    print(f"\n{len(FEATURES)} features; Spark master {args.master}, os.cpu_count() = {os.cpu_count()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
