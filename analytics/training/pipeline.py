"""Fit everything on a split and score it on test: the core shared by ``train`` and ``backtest``.

Order of work, and which split each step may see:

1. baselines scored on every row; their window and threshold chosen on **validation**;
2. LightGBM and Random Forest tuned by Optuna (fit on **train**, objective on **validation**), then
   refit with the best parameters (LightGBM with the best trial's number of rounds);
3. each model calibrated (isotonic) and its threshold chosen (max F1) on **validation**;
4. time-to-exhaustion regressors per resource (fit on train, early stopping on validation);
5. every predictor scored on **test** only, with the same code and on the same rows.

Rows inside an exhaustion episode (``exhausted == 1``) are never fitted on and never scored as onset
examples; they only locate episode onsets for the lead time.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import structlog

from analytics.evaluation.metrics import METRIC_NAMES, choose_threshold, count_onsets
from analytics.evaluation.scoring import (
    BaselineScores,
    Evaluation,
    PredictorOutput,
    baseline_output,
    evaluate,
    fit_baselines,
    model_output,
)
from analytics.training import lightgbm as lgbm
from analytics.training import random_forest as rf
from analytics.training.calibration import apply_calibration, fit_calibration
from analytics.training.tte import TteModel, fit_tte
from analytics.training.tuning import SEARCH_VERSION, StudySummary, fingerprint, run_study

if TYPE_CHECKING:
    import lightgbm
    from numpy.typing import NDArray
    from sklearn.ensemble import RandomForestClassifier

    from analytics.serving import CalibrationSpec
    from analytics.training.data import FeatureData, Matrix
    from analytics.training.split import Split

__all__ = ["ModelFit", "TrainResult", "train_and_evaluate", "untrained_metrics"]

log = structlog.get_logger()

UNTRAINED = "models not trained: the train period has no positive onset row"
MODEL_DEFAULT_THRESHOLD = 0.5
"""Model threshold when validation has no positive row."""
FEW_VALIDATION_EPISODES = 10
"""Below this many exhaustion episodes in the validation period, the thresholds (the max-F1 points of a few
dozen positive rows) are fragile, and the output says so."""


@dataclass
class ModelFit:
    """One fitted, calibrated model."""

    name: str
    """``lightgbm`` or ``random_forest``."""
    model: Any
    """``lightgbm.Booster`` or ``RandomForestClassifier``."""
    calibration: CalibrationSpec
    """Raw score -> probability, fitted on validation."""
    threshold: float
    """Alarm threshold on the calibrated probability, chosen on validation."""
    threshold_rule: str
    """How the threshold was chosen."""
    study: StudySummary
    """The tuning study."""
    validation_probability: NDArray[np.float64]
    """Calibrated probability of the validation onset rows (the threshold was chosen on these)."""


@dataclass
class TrainResult:
    """Everything a training run produced."""

    data: FeatureData
    """The dataset."""
    split: Split
    """The split."""
    models: dict[str, ModelFit]
    """Fitted models by name (empty when train has no positive row)."""
    baselines: BaselineScores
    """Baseline scores and validation-chosen parameters."""
    tte: dict[str, TteModel]
    """Time-to-exhaustion models by resource."""
    evaluation: Evaluation
    """Test metrics of every predictor."""
    validation_labels: NDArray[np.int8]
    """Labels of the validation onset rows."""
    notes: list[str] = field(default_factory=list)
    """Why some things are missing (no positives, no TTE model, ...)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each phase."""

    @property
    def booster(self) -> lightgbm.Booster | None:
        """The LightGBM classifier, if trained."""
        fit = self.models.get("lightgbm")
        return None if fit is None else fit.model

    @property
    def forest(self) -> RandomForestClassifier | None:
        """The Random Forest, if trained."""
        fit = self.models.get("random_forest")
        return None if fit is None else fit.model


def _predict(name: str, model: Any, x: Matrix) -> NDArray[np.float64]:
    if name == "lightgbm":
        return np.asarray(model.predict(x), dtype=np.float64)
    return rf.positive_proba(model, x)


def train_and_evaluate(
    data: FeatureData,
    split: Split,
    *,
    trials: int,
    timeout: float | None,
    seed: int,
    storage: str | None,
    show_progress: bool = True,
) -> TrainResult:
    """Tune, fit, calibrate and threshold both models; fit TTE models; score everything on test.

    Args:
        data: The featured dataset.
        split: A checked split of ``data.frame``.
        trials: Optuna trials per model family.
        timeout: Seconds per study (``None``: no limit).
        seed: Seed of samplers, subsampling and models.
        storage: Optuna RDB storage URL (``None``: in memory).
        show_progress: Draw progress bars.

    Returns:
        The result; metrics are NaN with a note where a split has no positive row.
    """
    frame = data.frame
    onset = frame["exhausted"].to_numpy() == 0
    y = frame["label"].to_numpy().astype(np.int8)
    rows = {"train": split.train & onset, "validation": split.validation & onset, "test": split.test & onset}
    notes = [f"no positive onset rows in {p}" for p, mask in rows.items() if not y[mask].any()]
    validation = split.validation
    episodes = count_onsets(
        frame["host_id"].to_numpy()[validation],
        frame["timestamp"].to_numpy()[validation],
        frame["exhausted"].to_numpy()[validation],
    )
    if 0 < episodes < FEW_VALIDATION_EPISODES:
        notes.append(
            f"the alarm thresholds were chosen on {episodes} exhaustion episode(s) of the validation period: "
            "precision, recall and F1 at them are indicative only (ROC-AUC and PR-AUC do not depend on them)"
        )
    clock = _Clock()
    baselines = fit_baselines(
        frame,
        data.resources,
        rows["validation"],
        step_seconds=data.step_seconds,
        horizon_seconds=data.horizon_seconds,
    )
    x = {period: data.matrix(mask) for period, mask in rows.items()}
    clock.lap("baselines and matrices")
    models: dict[str, ModelFit] = {}
    if y[rows["train"]].any():
        key = fingerprint(
            version=data.feature_set_version,
            features=data.feature_names,
            rows=len(frame),
            scheme=split.scheme,
            info=split.info,
            seed=seed,
            search=SEARCH_VERSION,
        )
        tuning = {"storage": storage, "trials": trials, "timeout": timeout, "seed": seed}
        models = _fit_models(x, y, rows, data.feature_names, key, tuning, show_progress, clock)
    else:
        notes.append(UNTRAINED)
    tte: dict[str, TteModel] = {}
    for resource in data.resources:
        column = f"tte_{resource}_seconds"
        if column not in frame:
            continue
        seconds = frame[column].to_numpy(dtype=np.float64, na_value=np.nan)
        fitted = fit_tte(
            resource,
            x,
            {p: seconds[m] for p, m in rows.items()},
            data.feature_names,
            horizon_seconds=data.horizon_seconds,
            seed=seed,
        )
        if fitted is None:
            notes.append(f"no time-to-exhaustion model for {resource}: too few exhaustion examples")
        else:
            tte[resource] = fitted
    clock.lap("time-to-exhaustion models")
    outputs: dict[str, PredictorOutput] = {}
    x_test_all = data.matrix(split.test)
    for name, fit in models.items():
        probability = apply_calibration(fit.calibration, _predict(name, fit.model, x_test_all))
        outputs[name] = model_output(probability, fit.threshold)
    for name, score in baselines.scores.items():
        outputs[name] = baseline_output(score[split.test], baselines.params[name]["threshold"])
    test_frame = frame.loc[split.test]
    evaluation = evaluate(test_frame, outputs, horizon_seconds=data.horizon_seconds, resources=data.resources)
    for name in ("random_forest", "lightgbm"):  # reversed: each goes to the front
        if name not in models:
            evaluation.table = {name: untrained_metrics(UNTRAINED)} | evaluation.table
    clock.lap("test evaluation")
    for name, metrics in evaluation.table.items():
        log.info("test_metrics", predictor=name, **{k: v for k, v in metrics.items() if k != "note"})
    return TrainResult(
        data=data,
        split=split,
        models=models,
        baselines=baselines,
        tte=tte,
        evaluation=evaluation,
        validation_labels=y[rows["validation"]],
        notes=notes,
        timings=clock.laps,
    )


class _Clock:
    """Wall time of each phase, for the benchmark and the logs."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = self.laps.get(name, 0.0) + now - self._last
        self._last = now


def _fit_models(
    x: dict[str, Matrix],
    y: NDArray[np.int8],
    rows: dict[str, NDArray[np.bool_]],
    feature_names: list[str],
    key: str,
    tuning: dict[str, Any],
    show_progress: bool,
    clock: _Clock,
) -> dict[str, ModelFit]:
    """Tune, refit, calibrate and threshold LightGBM, then the Random Forest."""
    y_tr, y_va = y[rows["train"]], y[rows["validation"]]
    seed = int(tuning["seed"])
    lgb_data = lgbm.LightGBMData(x["train"], y_tr, x["validation"], y_va, feature_names, seed=seed)
    study = run_study(
        f"lightgbm-{key}", lgbm.make_search(lgb_data, seed), show_progress=show_progress, **tuning
    )
    clock.lap("lightgbm tuning")
    rounds = int(study.best_attrs.get("best_iteration", lgbm.MAX_ROUNDS))
    booster = lgbm.fit(lgb_data, study.best_params | {"bagging_freq": 1}, seed=seed, rounds=rounds)
    models = {"lightgbm": _calibrated("lightgbm", booster, study, x["validation"], y_va)}
    del lgb_data
    clock.lap("lightgbm final fit and calibration")
    rf_data = rf.RandomForestData(x["train"], y_tr, x["validation"], y_va, seed=seed)
    study = run_study(
        f"random_forest-{key}", rf.make_search(rf_data, seed), show_progress=show_progress, **tuning
    )
    clock.lap("random forest tuning")
    forest = rf.fit(rf_data, study.best_params, seed=seed)
    models["random_forest"] = _calibrated("random_forest", forest, study, x["validation"], y_va)
    clock.lap("random forest final fit and calibration")
    return models


def untrained_metrics(reason: str) -> dict[str, Any]:
    """A table row for a model that could not be trained: every metric NaN, with the reason."""
    row: dict[str, Any] = dict.fromkeys(METRIC_NAMES, math.nan)
    return row | {"threshold": math.nan, "rows": 0, "positives": 0, "note": reason}


def _calibrated(
    name: str, model: Any, study: StudySummary, x_val: Matrix, y_val: NDArray[np.int8]
) -> ModelFit:
    raw = _predict(name, model, x_val)
    calibration = fit_calibration(raw, y_val)
    probability = apply_calibration(calibration, raw)
    threshold, rule = choose_threshold(y_val, probability, default=MODEL_DEFAULT_THRESHOLD)
    return ModelFit(name, model, calibration, threshold, rule, study, probability)
