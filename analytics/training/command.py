"""``cloudsense train --features FEATURES [--trials N] [--timeout S] [--seed K] [--repeats R] [--json FILE]``.

Reads the ETL's output, splits it forward in time and by host (see ``analytics.training.split``), tunes
and fits LightGBM and Random Forest, scores them and the baselines on test, logs everything to MLflow
and registers the LightGBM model (alias ``challenger``; ``champion`` too if there is none yet).

With ``--repeats R`` (fleet split only) the whole fit and test are repeated on R - 1 further splits (seeds
``K+1`` ..), and each metric's mean, spread and range over the R splits is printed, logged to the same
MLflow run (``repeats.json``, ``repeats.<predictor>.<metric>.mean``/``.sd``) and written with
``--repeats-json``. The registered model is the first split's.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog

from analytics.cli_types import non_negative_int, positive_float, positive_int
from analytics.evaluation.model_card import render_model_card
from analytics.evaluation.plots import write_plots
from analytics.evaluation.repeats import print_repeats, repeat_metrics, summarise_repeats
from analytics.evaluation.report import (
    jsonable,
    make_console,
    print_breakdown,
    print_sample,
    print_table,
    write_json,
)
from analytics.training.bundle import write_bundle
from analytics.training.data import add_max_rows_argument, load_features
from analytics.training.pipeline import TrainResult, train_and_evaluate
from analytics.training.split import Scheme, SplitError, split_features

if TYPE_CHECKING:
    from analytics.settings import Settings
    from analytics.tracking import RunRecord

__all__ = ["TrainOutcome", "add_arguments", "run", "train"]

log = structlog.get_logger()


@dataclass
class TrainOutcome:
    """A training run's result and where it was registered."""

    result: TrainResult
    """Models, split, metrics."""
    record: RunRecord | None
    """MLflow run and registered version (``None`` when nothing could be registered)."""
    repeats: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Metrics over the repeated splits (:func:`analytics.evaluation.repeats.summarise_repeats`); empty
    without ``repeats``."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cloudsense train``."""
    parser.add_argument("--features", required=True, type=Path, help="output directory of 'cloudsense etl'")
    parser.add_argument("--trials", type=positive_int, default=None, help="Optuna trials per model family")
    parser.add_argument("--timeout", type=positive_float, default=None, help="seconds per tuning study")
    parser.add_argument(
        "--seed", type=non_negative_int, default=None, help="seed of split, samplers and models"
    )
    parser.add_argument(
        "--split",
        choices=["fleet", "host-time", "day"],
        default="fleet",
        help="fleet: forward in time and host-grouped (default); host-time / day: see the docs",
    )
    parser.add_argument(
        "--repeats",
        type=positive_int,
        default=None,
        metavar="R",
        help="train and score R fleet splits (seeds K..K+R-1) and report each metric's spread (default 1)",
    )
    add_max_rows_argument(parser)
    parser.add_argument("--json", type=Path, default=None, help="also write the test table as JSON here")
    parser.add_argument(
        "--repeats-json",
        type=Path,
        default=None,
        help="write the metrics over the --repeats splits (mean, sd, min, max, values) as JSON here",
    )


def log_params(result: TrainResult, trials: int, seed: int) -> dict[str, Any]:
    """Run parameters for MLflow."""
    data, split = result.data, result.split
    params: dict[str, Any] = {
        "split_scheme": split.scheme,
        "trials": trials,
        "seed": seed,
        "feature_set_version": data.feature_set_version,
        "n_features": len(data.feature_names),
        "step_seconds": data.step_seconds,
        "horizon_seconds": data.horizon_seconds,
        "label_threshold_percent": data.threshold_percent,
        **(
            {}
            if data.sample is None
            else {f"sample_{k}": v for k, v in dataclasses.asdict(data.sample).items()}
        ),
        **{k: v for k, v in split.info.items() if k.startswith("rows_") or k.startswith("cut_")},
    }
    for name, fit in result.models.items():
        params[f"{name}.threshold"] = round(fit.threshold, 6)
        params |= {f"{name}.{k}": v for k, v in fit.study.best_params.items()}
    for name, baseline in result.baselines.params.items():
        params |= {f"{name}.{k}": v for k, v in baseline.items()}
    return params


def extra_metrics(result: TrainResult) -> dict[str, float]:
    """TTE errors and tuning scores, for MLflow."""
    out: dict[str, float] = {}
    for resource, model in result.tte.items():
        out[f"tte.{resource}.mae_minutes"] = model.mae_minutes
        out[f"tte.{resource}.coverage_10_90"] = model.coverage
    for name, fit in result.models.items():
        out[f"validation.{name}.objective"] = fit.study.best_value
        out[f"tuning.{name}.pruned_trials"] = float(fit.study.pruned)
    return out


def train(
    features: Path,
    settings: Settings,
    *,
    trials: int | None = None,
    timeout: float | None = None,
    seed: int | None = None,
    scheme: Scheme = "fleet",
    repeats: int | None = None,
    max_rows: int | None = None,
    show_progress: bool = True,
) -> TrainOutcome:
    """Train, evaluate, log and register (the body of ``cloudsense train``).

    Args:
        features: ETL output directory.
        settings: Analytics settings.
        trials: Optuna trials per family (default: settings).
        timeout: Seconds per study (default: settings).
        seed: Seed (default: settings).
        scheme: Split scheme.
        repeats: Fleet splits to train and score (default: settings); the first is registered.
        max_rows: Row budget of the features (see :func:`~analytics.training.data.load_features`).
        show_progress: Draw progress bars.

    Returns:
        The result, the registry record and, with repeats, the metrics over the splits.

    Raises:
        SplitError: A split is impossible, or ``repeats`` > 1 with a scheme that has only one split.
    """
    from analytics.tracking import log_training

    cfg = settings.training
    trials = trials or cfg.trials
    seed = cfg.seed if seed is None else seed
    repeats = repeats or cfg.repeats
    if repeats > 1 and scheme != "fleet":
        raise SplitError(f"--repeats needs the fleet split: the {scheme} split has only one arrangement")
    data = load_features(features, settings.label, max_rows=max_rows, seed=seed)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(settings.data_dir / 'optuna.db').resolve()}"

    def fit_split(split_seed: int) -> TrainResult:
        split = split_features(data, cfg, scheme=scheme, seed=split_seed)
        rows = {k: v for k, v in split.info.items() if k.startswith("rows_")}
        log.info("split_ready", scheme=scheme, seed=split_seed, **rows)
        return train_and_evaluate(
            data,
            split,
            trials=trials,
            timeout=timeout or cfg.timeout_seconds,
            seed=split_seed,
            storage=storage,
            show_progress=show_progress,
        )

    result = fit_split(seed)
    summary: dict[str, dict[str, Any]] = {}
    if repeats > 1:
        seeds = list(range(seed, seed + repeats))
        # Only the tables are kept: each further split's models are dropped once scored.
        tables = [result.evaluation.table] + [fit_split(s).evaluation.table for s in seeds[1:]]
        summary = summarise_repeats(tables, seeds)
    if "lightgbm" not in result.models:
        return TrainOutcome(result, None, summary)
    with tempfile.TemporaryDirectory(prefix="cloudsense-train-") as tmp:
        root = Path(tmp)
        bundle = write_bundle(result, root / "bundle")
        artifacts = root / "artifacts"
        booster = result.booster
        importance = None if booster is None else np.asarray(booster.feature_importance("gain"), float)
        write_plots(result.evaluation, artifacts, feature_names=data.feature_names, importance=importance)
        (artifacts / "model_card.md").write_text(
            render_model_card(result, model_name=settings.mlflow.model_name)
        )
        write_json(artifacts / "metrics.json", result.evaluation.table)
        write_json(artifacts / "breakdown.json", jsonable(result.evaluation.breakdown))
        if summary:
            write_json(artifacts / "repeats.json", summary)
        example = data.frame.loc[result.split.validation, data.feature_names].head(5)
        record = log_training(
            settings,
            params=log_params(result, trials, seed),
            table=result.evaluation.table,
            extra_metrics=extra_metrics(result) | repeat_metrics(summary),
            bundle_dir=bundle,
            artifacts_dir=artifacts,
            input_example=example,
            tags={"cloudsense.job": "train", "split": scheme, "repeats": str(repeats)},
        )
    return TrainOutcome(result, record, summary)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``cloudsense train``: print the test table; exit 1 when no model could be trained, 2 on bad input."""
    console = make_console()
    if args.repeats is not None and args.repeats < 1:
        console.print("[red]cannot train[/]: --repeats must be 1 or more")
        return 2
    try:
        outcome = train(
            args.features,
            settings,
            trials=args.trials,
            timeout=args.timeout,
            seed=args.seed,
            scheme=args.split,
            repeats=args.repeats,
            max_rows=args.max_rows,
        )
    except FileNotFoundError as exc:
        console.print(f"[red]cannot train[/]: {exc}")
        return 2
    except SplitError as exc:
        console.print(f"[red]cannot split[/]: {exc} (see --split; 'cloudsense backtest' suits few hosts)")
        return 2
    result = outcome.result
    print_sample(console, result.data)
    print_table(console, result.evaluation.table, f"test split ({result.split.scheme})")
    print_breakdown(console, result.evaluation.breakdown)
    for resource, model in result.tte.items():
        console.print(
            f"time to exhaustion {resource}: MAE {model.mae_minutes:.2f} min, "
            f"10-90 % coverage {model.coverage:.2f} ({model.test_rows} test rows)"
        )
    for note in result.notes:
        console.print(f"[yellow]note[/]: {note}")
    print_repeats(console, outcome.repeats)
    if args.json:
        write_json(args.json, result.evaluation.table)
    if args.repeats_json:
        write_json(args.repeats_json, outcome.repeats)
    if outcome.record is None:
        console.print("[red]no model registered[/]: " + "; ".join(result.notes))
        return 1
    record = outcome.record
    console.print(
        f"registered [bold]{record.model_name}[/] version {record.version} "
        f"(aliases: {', '.join(record.aliases)}), run {record.run_id}"
    )
    return 0
