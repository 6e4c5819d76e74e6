"""``cloudsense backtest --dataset FILE.parquet [--json FILE] [--trials N] [--split host-time|day|fleet]``.

The honest way to judge CloudSense on a fleet's own data: the ETL featurises and labels the dataset (labels
from its telemetry), then both models are tuned and fitted on the earlier part of each host's history,
calibrated and thresholded on the middle part, and scored beside the baselines on the later part.

Split (see ``analytics.training.split``): ``host-time`` (default) cuts each host's own timeline, the only
honest split when there are few hosts; ``day`` keeps whole UTC days apart (for host-days such as Nezha's
pod-days: no pod-day is in two periods); ``fleet`` also keeps hosts apart (many hosts).

Where a period has no positive row, metrics that need one are NaN and the table says why; nothing crashes.
Nothing is registered in MLflow: a backtest judges data, it does not produce the serving model.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog

from analytics.cli_types import non_negative_int, positive_float, positive_int
from analytics.evaluation.baselines import BASELINES
from analytics.evaluation.featurize import DatasetError, add_dataset_arguments, featurize_args
from analytics.evaluation.plots import write_plots
from analytics.evaluation.report import (
    make_console,
    print_breakdown,
    print_quality,
    print_sample,
    print_table,
    write_json,
)
from analytics.training.pipeline import TrainResult, train_and_evaluate, untrained_metrics
from analytics.training.split import Scheme, SplitError, split_features

if TYPE_CHECKING:
    from analytics.settings import Settings
    from analytics.training.data import FeatureData

__all__ = ["add_arguments", "backtest", "run"]

log = structlog.get_logger()

PREDICTORS = ("lightgbm", "random_forest", *BASELINES)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cloudsense backtest``."""
    add_dataset_arguments(parser)
    parser.add_argument(
        "--json", type=Path, default=None, help="write the table as JSON (one object per predictor)"
    )
    parser.add_argument(
        "--trials", type=positive_int, default=None, help="Optuna trials per model family (default 10)"
    )
    parser.add_argument("--timeout", type=positive_float, default=None, help="seconds per tuning study")
    parser.add_argument("--seed", type=non_negative_int, default=None, help="seed of samplers and models")
    parser.add_argument(
        "--split", choices=["host-time", "day", "fleet"], default="host-time", help="split scheme"
    )
    parser.add_argument("--plots", type=Path, default=None, help="directory for the PNG plots")
    parser.add_argument(
        "--step", type=positive_int, default=None, help="resampling step in seconds (default: inferred)"
    )


def backtest(
    data: FeatureData,
    settings: Settings,
    *,
    scheme: Scheme = "host-time",
    trials: int = 10,
    timeout: float | None = None,
    seed: int = 0,
    show_progress: bool = True,
) -> TrainResult | str:
    """Split, train and score a featured dataset.

    Args:
        data: Featured, labelled rows.
        settings: Analytics settings (split fractions).
        scheme: Split scheme.
        trials: Optuna trials per model family.
        timeout: Seconds per study.
        seed: Seed.
        show_progress: Draw progress bars.

    Returns:
        The result, or the reason no split was possible (too few hosts, days or rows).
    """
    try:
        split = split_features(data, settings.training, scheme=scheme, seed=seed)
    except SplitError as exc:
        return f"no {scheme} split possible: {exc}"
    return train_and_evaluate(
        data, split, trials=trials, timeout=timeout, seed=seed, storage=None, show_progress=show_progress
    )


def _summary(data: FeatureData) -> str:
    frame = data.frame
    onset = frame["exhausted"].to_numpy() == 0
    exhausted = frame["exhausted"].to_numpy()
    same_host = frame["host_id"].eq(frame["host_id"].shift()).to_numpy()
    episodes = int(np.sum((exhausted[1:] == 1) & (exhausted[:-1] == 0) & same_host[1:]))
    positives = int(frame["label"].to_numpy()[onset].sum())
    return (
        f"{len(frame):,} rows, {frame['host_id'].nunique()} hosts, step {data.step_seconds} s, "
        f"{episodes} exhaustion episodes, {positives:,} positive onset rows"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``cloudsense backtest``: print the test table; JSON and plots on request."""
    console = make_console()
    seed = settings.training.seed if args.seed is None else args.seed
    with tempfile.TemporaryDirectory(prefix="cloudsense-backtest-") as tmp:
        try:
            featured = featurize_args(args, settings, Path(tmp), step_seconds=args.step, seed=seed)
        except DatasetError as exc:
            console.print(f"[red]cannot backtest[/]: {exc}")
            return 2
    data = featured.data
    print_quality(console, featured.report)
    print_sample(console, data)
    console.print(f"{args.dataset.name}: {_summary(data)}")
    result = backtest(
        data, settings, scheme=args.split, trials=args.trials or 10, timeout=args.timeout, seed=seed
    )
    if isinstance(result, str):
        table: dict[str, dict[str, Any]] = {name: untrained_metrics(result) for name in PREDICTORS}
        print_table(console, table, f"backtest ({args.split})")
        if args.json:
            write_json(args.json, table)
        return 1
    evaluation = result.evaluation
    print_table(console, evaluation.table, f"backtest test period ({args.split} split)")
    print_breakdown(console, evaluation.breakdown)
    for note in result.notes:
        console.print(f"[yellow]note[/]: {note}")
    if args.plots:
        booster = result.booster
        importance = None if booster is None else np.asarray(booster.feature_importance("gain"), float)
        write_plots(evaluation, args.plots, feature_names=data.feature_names, importance=importance)
    if args.json:
        write_json(args.json, evaluation.table)
    return 0
