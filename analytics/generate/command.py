"""``cloudsense generate [--hosts 100] [--days 7] [--interval 60] [--seed 0] [--start DATE] --out LAKE``."""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from analytics.cli_types import non_negative_int, positive_float, positive_int
from analytics.generate.fleet import GenerateSpec, LakeExistsError, generate

if TYPE_CHECKING:
    import argparse

    from analytics.settings import Settings

__all__ = ["add_arguments", "run"]

_DEFAULTS = GenerateSpec(out=Path())


def _start(value: str) -> datetime:
    """An ISO date or date-time; naive means UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not an ISO date: {value!r}") from exc
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cloudsense generate``."""
    parser.add_argument(
        "--hosts", type=positive_int, default=_DEFAULTS.hosts, help="fleet size (default: %(default)s)"
    )
    parser.add_argument(
        "--days", type=positive_float, default=_DEFAULTS.days, help="simulated days (default: %(default)s)"
    )
    parser.add_argument(
        "--interval",
        type=positive_int,
        default=_DEFAULTS.interval,
        help="seconds between samples (default: %(default)s)",
    )
    parser.add_argument(
        "--seed", type=non_negative_int, default=_DEFAULTS.seed, help="fleet seed (default: %(default)s)"
    )
    parser.add_argument(
        "--start",
        type=_start,
        default=_DEFAULTS.start,
        help="first sample, ISO date or date-time, UTC unless an offset is given (default: 2026-03-02)",
    )
    parser.add_argument("--out", type=Path, required=True, help="lake root; writes OUT/telemetry/date=.../")
    parser.add_argument(
        "--workers",
        type=positive_int,
        default=os.cpu_count() or 1,
        help="processes (default: CPU count, %(default)s)",
    )
    parser.add_argument(
        "--hosts-per-part",
        type=positive_int,
        default=_DEFAULTS.hosts_per_part,
        help="hosts per file (default: %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="replace an existing non-empty lake")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """Generate the lake; print one summary line. Exit 0, or 2 when refusing to overwrite / bad input."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    try:
        spec = GenerateSpec(
            out=args.out, hosts=args.hosts, days=args.days, interval=args.interval, seed=args.seed,
            start=args.start, hosts_per_part=args.hosts_per_part,
        )  # fmt: skip
    except ValueError as exc:
        sys.stderr.write(f"cloudsense generate: {exc}\n")
        return 2
    total = spec.hosts * spec.samples_per_host
    console = Console(stderr=True)
    columns = (TextColumn("generate"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, disable=args.quiet, transient=True) as progress:
        task = progress.add_task("rows", total=total)
        try:
            result = generate(
                spec, workers=args.workers, force=args.force, on_rows=lambda n: progress.advance(task, n)
            )
        except (LakeExistsError, ValueError) as exc:
            sys.stderr.write(f"cloudsense generate: {exc}\n")
            return 2
    rate = result.rows / result.seconds if result.seconds > 0 else float("inf")
    sys.stdout.write(
        f"generated {result.rows:,} rows from {result.hosts} hosts in {result.seconds:.1f} s "
        f"({rate:,.0f} rows/s) into {result.path}\n"
    )
    return 0
