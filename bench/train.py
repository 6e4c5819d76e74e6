"""Benchmark: wall time of ``cloudsense train`` with 30 Optuna trials per family on about 1M rows.

    python bench/train.py                      # generate ~1M rows (70 hosts x 10 days at 60 s), ETL, train
    python bench/train.py --features FEATURES  # train on an existing ETL output
    python bench/train.py --trials 30 --hosts 70 --days 10

Goal (issue 3): 30 trials on 1M rows in <= 10 min on 2 cores. The table splits the time by phase; data
generation and the ETL are timed too but are not part of the goal. MLflow goes to a throwaway SQLite store.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from analytics.settings import Settings

GOAL_SECONDS = 600.0


def _prepare(args: argparse.Namespace, work: Path, settings: Settings, timings: dict[str, float]) -> Path:
    """Generate a lake and run the ETL unless ``--features`` was given."""
    if args.features:
        return Path(args.features)
    from analytics.etl import run_etl
    from analytics.generate.fleet import GenerateSpec, generate
    from analytics.spark import create_spark_session

    began = time.perf_counter()
    generated = generate(
        GenerateSpec(out=work / "lake", hosts=args.hosts, days=args.days, seed=args.seed),
        workers=os.cpu_count() or 1,
    )
    timings[f"generate ({generated.rows:,} rows)"] = time.perf_counter() - began
    began = time.perf_counter()
    spark = create_spark_session(settings.spark)
    run_etl(spark, work / "lake", work / "features", settings)
    spark.stop()
    timings["spark ETL"] = time.perf_counter() - began
    return work / "features"


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--features", type=Path, default=None, help="existing ETL output (skip generate + ETL)"
    )
    parser.add_argument("--hosts", type=int, default=70)
    parser.add_argument("--days", type=float, default=10.0)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from analytics.training.command import train

    console = Console()
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="cloudsense-bench-train-") as tmp:
        work = Path(tmp)
        settings = Settings(data_dir=work / "state", mlflow={"tracking_uri": f"sqlite:///{work}/mlflow.db"})
        features = _prepare(args, work, settings, timings)
        load_before = os.getloadavg()[0]
        cpu_before = _cpu_seconds()
        began = time.perf_counter()
        outcome = train(features, settings, trials=args.trials, seed=args.seed, show_progress=True)
        total = time.perf_counter() - began
        cpu = _cpu_seconds() - cpu_before
        load_after = os.getloadavg()[0]
    result = outcome.result
    rows = len(result.data.frame)
    table = Table(
        title=f"cloudsense train: {args.trials} trials per family, {rows:,} rows, {os.cpu_count()} cores"
    )
    table.add_column("phase")
    table.add_column("seconds", justify="right")
    for phase, seconds in timings.items():
        table.add_row(f"[dim]{phase} (not in the goal)[/]", f"{seconds:.1f}")
    for phase, seconds in result.timings.items():
        table.add_row(phase, f"{seconds:.1f}")
    other = total - sum(result.timings.values())
    table.add_row("load, split, bundle, plots, MLflow", f"{other:.1f}")
    verdict = "[green]met[/]" if total <= GOAL_SECONDS else "[red]missed[/]"
    table.add_row("[bold]train total[/]", f"[bold]{total:.1f}[/]")
    table.add_row(f"goal <= {GOAL_SECONDS:.0f} s", verdict)
    table.add_row("CPU seconds of training (all threads)", f"{cpu:.1f}")
    console.print(table)
    console.print(
        f"load average {load_before:.1f} before, {load_after:.1f} after: other processes on these cores slow "
        f"the wall time; CPU seconds / {os.cpu_count()} is what an otherwise idle machine would need at best"
    )
    for name, fit in result.models.items():
        console.print(
            f"{name}: {fit.study.complete} complete, {fit.study.pruned} pruned trials; "
            f"validation objective {fit.study.best_value:.4f}"
        )
    split = result.split.info
    periods = ", ".join(f"{p} {split[f'rows_{p}']:,}" for p in ("train", "validation", "test"))
    console.print(f"rows: {periods}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
