"""Time to exhaustion per resource: LightGBM quantile regression of ``log1p(seconds)``.

For each resource, rows whose ``tte_<r>_seconds`` is known (an onset of that resource follows within the
horizon) train three quantile regressors (10th, 50th, 90th percentile) with early stopping on
validation. The estimate is therefore conditional on the resource exhausting; serving reads it beside
the probability. Error on test: MAE of the median in minutes, and the coverage of the 10-90 % interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np

from analytics.training.lightgbm import THREADS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from numpy.typing import NDArray

    from analytics.training.data import Matrix

__all__ = ["QUANTILES", "TteModel", "fit_tte"]

QUANTILES = (0.1, 0.5, 0.9)
MIN_ROWS = 30
"""Fewer known train (or validation) times than this: no model for the resource."""


@dataclass
class TteModel:
    """The quantile regressors of one resource, and their test error."""

    resource: str
    """Resource, e.g. ``mem_util``."""
    boosters: list[lgb.Booster]
    """One regressor per quantile of :data:`QUANTILES`, predicting ``log1p(seconds)``."""
    mae_minutes: float
    """MAE of the median on test rows with a known time (NaN when test has none)."""
    coverage: float
    """Share of those test rows inside [q10, q90]."""
    test_rows: int
    """How many test rows the error is measured on."""

    def predict_seconds(self, x: Matrix, horizon_seconds: int) -> NDArray[np.float64]:
        """``(n, len(QUANTILES))`` seconds, sorted along the quantile axis, clipped to the horizon."""
        columns = np.column_stack([b.predict(x, num_threads=1) for b in self.boosters])
        seconds: NDArray[np.float64] = np.clip(
            np.expm1(np.sort(columns, axis=1)), 0.0, float(horizon_seconds)
        )
        return seconds


def _params(alpha: float, seed: int, threads: int) -> dict[str, Any]:
    return {
        "objective": "quantile",
        "alpha": alpha,
        "metric": "quantile",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_child_samples": 20,
        "feature_fraction": 0.8,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": threads,
    }


def fit_tte(
    resource: str,
    x: dict[str, Matrix],
    seconds: dict[str, NDArray[np.float64]],
    feature_names: Sequence[str],
    *,
    horizon_seconds: int,
    seed: int,
) -> TteModel | None:
    """Fit the quantile regressors of one resource.

    Args:
        resource: Resource name.
        x: Features of the ``train``, ``validation`` and ``test`` onset rows.
        seconds: ``tte_<resource>_seconds`` of the same rows (NaN where unknown).
        feature_names: Column names.
        horizon_seconds: Label horizon (upper bound of a prediction).
        seed: Random seed.

    Returns:
        The model, or ``None`` when too few train or validation rows have a known time.
    """
    known = {k: ~np.isnan(v) for k, v in seconds.items()}
    if known["train"].sum() < MIN_ROWS or known["validation"].sum() < MIN_ROWS:
        return None
    names = [str(n) for n in feature_names]
    target = {k: np.log1p(seconds[k][known[k]]) for k in seconds}
    train = lgb.Dataset(x["train"][known["train"]], target["train"], feature_name=names, free_raw_data=False)
    valid = lgb.Dataset(x["validation"][known["validation"]], target["validation"], reference=train)
    boosters = [
        lgb.train(
            _params(alpha, seed, THREADS),
            train,
            num_boost_round=500,
            valid_sets=[valid],
            callbacks=[lgb.early_stopping(30, verbose=False)],
        )
        for alpha in QUANTILES
    ]
    model = TteModel(resource, boosters, math.nan, math.nan, int(known["test"].sum()))
    if model.test_rows:
        predicted = model.predict_seconds(x["test"][known["test"]], horizon_seconds)
        truth = seconds["test"][known["test"]]
        model.mae_minutes = float(np.mean(np.abs(predicted[:, 1] - truth)) / 60.0)
        model.coverage = float(np.mean((truth >= predicted[:, 0]) & (truth <= predicted[:, -1])))
    return model
