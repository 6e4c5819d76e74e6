"""``cloudsense etl --input LAKE --output FEATURES [--master URL] [--step SECONDS]``."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from analytics.cli_types import non_negative_int, positive_int
from analytics.etl.options import add_column_argument, add_sample_hosts_argument

if TYPE_CHECKING:
    from analytics.settings import Settings

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``cloudsense etl``."""
    parser.add_argument(
        "--input",
        required=True,
        help="a telemetry lake (LAKE/telemetry/date=.../*.parquet), a Parquet file or directory, or a CSV "
        "file (with a header row, or columns _c0, _c1...), in the canonical schema (host_id; timestamp as a "
        "timestamp type, ISO-8601 text or epoch s/ms/us/ns; any metric columns, utilisation in percent)",
    )
    parser.add_argument(
        "--output", required=True, help="the FEATURES directory to write (replaced atomically)"
    )
    add_column_argument(parser)
    add_sample_hosts_argument(parser)
    parser.add_argument("--master", default=None, help="Spark master URL (default: settings, local[*])")
    parser.add_argument(
        "--step",
        type=positive_int,
        default=None,
        metavar="SECONDS",
        help="uniform step (default: the data's median interval snapped to 60, 120, 180, 300, 600 ... s)",
    )
    parser.add_argument(
        "--fill-seconds",
        type=non_negative_int,
        default=None,
        metavar="SECONDS",
        help="forward-fill gaps and missing values up to this long (default 300; at least one step)",
    )
    parser.add_argument(
        "--max-future-seconds",
        type=non_negative_int,
        default=None,
        metavar="SECONDS",
        help="drop samples stamped further ahead of this machine's clock (default 3600)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress line")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Run the ETL and print the quality summary; 0 on success, 2 on unusable input, 1 without Java."""
    from analytics.etl.options import EtlOptions
    from analytics.etl.pipeline import run_etl
    from analytics.etl.quality import EtlInputError
    from analytics.spark import JavaNotFoundError, create_spark_session
    from analytics.spark_progress import SparkProgress

    defaults = EtlOptions()
    options = EtlOptions(
        step_seconds=args.step,
        fill_seconds=args.fill_seconds if args.fill_seconds is not None else defaults.fill_seconds,
        max_future_seconds=(
            args.max_future_seconds if args.max_future_seconds is not None else defaults.max_future_seconds
        ),
        columns=dict(args.column),
        sample_hosts=args.sample_hosts,
        sample_seed=settings.training.seed,
    )
    started = time.monotonic()
    try:
        spark = create_spark_session(settings.spark, master=args.master, app_name="cloudsense-etl")
    except JavaNotFoundError as exc:
        sys.stderr.write(f"cloudsense etl: {exc}\n")
        return 1
    try:
        with SparkProgress(spark, disable=args.quiet) as progress:
            phase = progress.phase
            report = run_etl(spark, args.input, args.output, settings, options=options, on_phase=phase)
    except EtlInputError as exc:
        sys.stderr.write(f"cloudsense etl: {exc}\n")
        return 2
    sys.stdout.write(report.summary() + "\n")
    sys.stdout.write(f"wrote {args.output} in {time.monotonic() - started:.1f} s\n")
    return 0
