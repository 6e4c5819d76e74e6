"""``cloudsense evaluate --dataset FILE.parquet [--model champion] [--json FILE] [--plots DIR]``.

Scores any fleet's dataset (canonical schema; labels are derived from its telemetry by the ETL, with the
model's own label definition) with a registered model and with the two baselines, on the same rows. The
baselines use the window and thresholds chosen on the model's validation period (stored in its bundle),
so nothing is tuned on the data being evaluated.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import structlog

from analytics.evaluation.baselines import static_threshold_score, trend_score
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
from analytics.evaluation.scoring import Evaluation, baseline_output, evaluate, model_output
from analytics.serving import ModelNotFoundError

if TYPE_CHECKING:
    import pandas as pd

    from analytics.etl.report import QualityReport
    from analytics.serving import Predictor
    from analytics.settings import Settings
    from analytics.training.data import FeatureData

__all__ = ["add_arguments", "load_model", "resolution_warning", "run", "score_dataset"]

log = structlog.get_logger()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cloudsense evaluate``."""
    add_dataset_arguments(parser)
    parser.add_argument(
        "--model",
        default="champion",
        help="registry alias (champion, challenger) or a serving-bundle directory",
    )
    parser.add_argument(
        "--json", type=Path, default=None, help="write the table as JSON (one object per predictor)"
    )
    parser.add_argument("--plots", type=Path, default=None, help="directory for the PNG plots")


def load_model(model: str, settings: Settings, dst: Path | None = None) -> Predictor:
    """A serving bundle directory, or the registered model's alias (downloaded into ``dst``).

    Raises:
        ModelNotFoundError: No model version has the alias.
        FileNotFoundError: ``model`` names a path (it has a ``/``, or exists) that is not a bundle directory.
    """
    from analytics.serving import load_bundle, load_registered

    if Path(model).is_dir():
        return load_bundle(model)
    if "/" in model or Path(model).exists():  # an alias has no slash
        raise FileNotFoundError(f"--model {model}: not a serving-bundle directory (nor an alias)")
    return load_registered(settings.mlflow_tracking_uri(), settings.mlflow.model_name, model, dst=dst)


def resolution_warning(report: QualityReport, model_step: int) -> str | None:
    """Why the scores mean little when the dataset is sampled more coarsely than the model's step, else None.

    The ETL resamples the dataset to the model's step (its features are defined in rows of that step), so
    300 s data scored by a 60 s model is forward-filled four rows in five: a staircase that no training
    series looked like.
    """
    interval = report.median_interval_seconds
    if interval is None or interval < 1.5 * model_step or not report.output_rows:
        return None
    filled = report.rows_filled / report.output_rows
    return (
        f"the dataset is sampled every {interval:g} s, the model every {model_step} s: {filled:.0%} of the "
        "rows were forward-filled to the model's step, a staircase the model never saw in training, so its "
        "scores here say little (the baselines are less affected). 'cloudsense backtest' trains and scores "
        "at the dataset's own step"
    )


def score_dataset(data: FeatureData, predictor: Predictor) -> Evaluation:
    """Score every row of a featured dataset with the model and the baselines.

    Args:
        data: Featured, labelled rows (sorted by host then time).
        predictor: The model; its bundle carries the baselines' window and thresholds.

    Returns:
        Metrics of ``lightgbm``, ``static_threshold`` and ``predict_linear`` on the same rows.
    """
    spec = predictor.spec
    frame = data.frame
    probability = _predict(predictor, frame)
    resources = spec.resources or list(data.resources)
    static = spec.baselines.get("static_threshold", {})
    trend = spec.baselines.get("predict_linear", {})
    window = int(trend.get("window_seconds", 1800))
    outputs = {
        "lightgbm": model_output(probability, spec.threshold),
        "static_threshold": baseline_output(
            static_threshold_score(frame, resources), static.get("threshold", 90.0)
        ),
        "predict_linear": baseline_output(
            trend_score(
                frame,
                resources,
                window_seconds=window,
                horizon_seconds=data.horizon_seconds,
                step_seconds=data.step_seconds,
            ),
            trend.get("threshold", 95.0),
        ),
    }
    return evaluate(frame, outputs, horizon_seconds=data.horizon_seconds, resources=resources)


SCORING_CHUNK_ROWS = 262_144
"""Rows scored at a time: the model's float64 input for a chunk is about 160 MB, not the whole dataset's
(6 GB at 10M rows, beside the frame it is built from)."""


def _predict(predictor: Predictor, frame: pd.DataFrame) -> np.ndarray:
    """The model's probability for every row of ``frame`` (absent feature columns are missing values)."""
    n = len(frame)
    columns = [frame[name].to_numpy() if name in frame else None for name in predictor.spec.feature_names]
    chunks = []
    for start in range(0, n, SCORING_CHUNK_ROWS):
        stop = min(n, start + SCORING_CHUNK_ROWS)
        x = np.empty((stop - start, len(columns)), dtype=np.float64)
        for j, column in enumerate(columns):
            x[:, j] = np.nan if column is None else column[start:stop]
        chunks.append(predictor.predict(x))
    return np.concatenate(chunks) if chunks else np.zeros(0)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``cloudsense evaluate``: print the table, write plots and (optionally) JSON."""
    console = make_console()
    with tempfile.TemporaryDirectory(prefix="cloudsense-model-") as tmp:
        try:
            predictor = load_model(args.model, settings, Path(tmp))
        except (ModelNotFoundError, FileNotFoundError) as exc:
            console.print(f"[red]cannot evaluate[/]: {exc}")
            return 2
    spec = predictor.spec
    label = settings.label.model_copy(
        update={
            "threshold_percent": spec.label_threshold_percent,
            "min_duration_seconds": spec.label_min_duration_seconds,
            "horizon_seconds": spec.horizon_seconds,
            "resources": tuple(spec.resources) or settings.label.resources,
        }
    )
    settings = settings.model_copy(update={"label": label})
    with tempfile.TemporaryDirectory(prefix="cloudsense-evaluate-") as tmp:
        try:
            featured = featurize_args(
                args, settings, Path(tmp), step_seconds=spec.step_seconds, seed=settings.training.seed
            )
        except DatasetError as exc:
            console.print(f"[red]cannot evaluate[/]: {exc}")
            return 2
    data = featured.data
    coarser = resolution_warning(featured.report, spec.step_seconds)
    if coarser:
        featured.report.warnings.append(coarser)
    print_quality(console, featured.report)
    print_sample(console, data)
    if data.feature_set_version != spec.feature_set_version:
        console.print(
            f"[red]feature set mismatch[/]: the model was trained on version {spec.feature_set_version!r}, "
            f"the ETL produced {data.feature_set_version!r}; retrain the model"
        )
        return 2
    evaluation = score_dataset(data, predictor)
    hosts = data.frame["host_id"].nunique()
    title = f"{args.dataset.name}: {len(data.frame):,} rows, {hosts} hosts ({args.model})"
    print_table(console, evaluation.table, title)
    print_breakdown(console, evaluation.breakdown)
    plots = args.plots or settings.data_dir / "evaluate" / args.dataset.stem
    written = write_plots(evaluation, plots, models=("lightgbm",))
    console.print(f"plots: {', '.join(str(p) for p in written.values())}")
    if args.json:
        write_json(args.json, evaluation.table)
        console.print(f"table: {args.json}")
    return 0
