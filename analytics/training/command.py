"""``cloudsense train --features FEATURES [--trials N] [--timeout S] [--seed K] [--json FILE]``.

Reads the ETL's output, splits it forward in time and by host (see ``analytics.training.split``), tunes
and fits LightGBM and Random Forest, scores them and the baselines on test, logs everything to MLflow
and registers the LightGBM model (alias ``challenger``; ``champion`` too if there is none yet).
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog

from analytics.evaluation.model_card import render_model_card
from analytics.evaluation.plots import write_plots
from analytics.evaluation.report import jsonable, make_console, print_breakdown, print_table, write_json
from analytics.training.bundle import write_bundle
from analytics.training.data import load_features
from analytics.training.pipeline import TrainResult, train_and_evaluate
from analytics.training.split import Scheme, SplitError, make_split

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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``cloudsense train``."""
    parser.add_argument("--features", required=True, type=Path, help="output directory of 'cloudsense etl'")
    parser.add_argument("--trials", type=int, default=None, help="Optuna trials per model family")
    parser.add_argument("--timeout", type=float, default=None, help="seconds per tuning study")
    parser.add_argument("--seed", type=int, default=None, help="seed of split, samplers and models")
    parser.add_argument(
        "--split",
        choices=["fleet", "host-time", "day"],
        default="fleet",
        help="fleet: forward in time and host-grouped (default); host-time / day: see the docs",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the test table as JSON here")


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
        show_progress: Draw progress bars.

    Returns:
        The result and the registry record.
    """
    from analytics.tracking import log_training

    cfg = settings.training
    trials = trials or cfg.trials
    seed = cfg.seed if seed is None else seed
    data = load_features(features, settings.label)
    split = make_split(
        data.column("host_id"),
        data.column("timestamp"),
        scheme=scheme,
        train_fraction=cfg.train_fraction,
        validation_fraction=cfg.validation_fraction,
        horizon_seconds=data.horizon_seconds,
        seed=seed,
    )
    log.info("split_ready", scheme=scheme, **{k: v for k, v in split.info.items() if k.startswith("rows_")})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{(settings.data_dir / 'optuna.db').resolve()}"
    result = train_and_evaluate(
        data,
        split,
        trials=trials,
        timeout=timeout or cfg.timeout_seconds,
        seed=seed,
        storage=storage,
        show_progress=show_progress,
    )
    if "lightgbm" not in result.models:
        return TrainOutcome(result, None)
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
        example = data.frame.loc[split.validation, data.feature_names].head(5)
        record = log_training(
            settings,
            params=log_params(result, trials, seed),
            table=result.evaluation.table,
            extra_metrics=extra_metrics(result),
            bundle_dir=bundle,
            artifacts_dir=artifacts,
            input_example=example,
            tags={"cloudsense.job": "train", "split": scheme},
        )
    return TrainOutcome(result, record)


def run(args: argparse.Namespace, settings: Settings) -> int:
    """``cloudsense train``: print the test table; exit 1 when no model could be trained, 2 on bad input."""
    console = make_console()
    try:
        outcome = train(
            args.features,
            settings,
            trials=args.trials,
            timeout=args.timeout,
            seed=args.seed,
            scheme=args.split,
        )
    except FileNotFoundError as exc:
        console.print(f"[red]cannot train[/]: {exc}")
        return 2
    except SplitError as exc:
        console.print(f"[red]cannot split[/]: {exc} (see --split; 'cloudsense backtest' suits few hosts)")
        return 2
    result = outcome.result
    print_table(console, result.evaluation.table, f"test split ({result.split.scheme})")
    print_breakdown(console, result.evaluation.breakdown)
    for resource, model in result.tte.items():
        console.print(
            f"time to exhaustion {resource}: MAE {model.mae_minutes:.2f} min, "
            f"10-90 % coverage {model.coverage:.2f} ({model.test_rows} test rows)"
        )
    for note in result.notes:
        console.print(f"[yellow]note[/]: {note}")
    if args.json:
        write_json(args.json, result.evaluation.table)
    if outcome.record is None:
        console.print("[red]no model registered[/]: " + "; ".join(result.notes))
        return 1
    record = outcome.record
    console.print(
        f"registered [bold]{record.model_name}[/] version {record.version} "
        f"(aliases: {', '.join(record.aliases)}), run {record.run_id}"
    )
    return 0
