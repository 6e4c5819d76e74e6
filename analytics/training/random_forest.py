"""Random Forest (scikit-learn): search space, the Optuna objective with pruning, and the final fit.

The forest grows in chunks (``warm_start``) and reports validation PR-AUC after each chunk, so the pruner
can stop a poor configuration early, as LightGBM's callback does. Imbalance: ``class_weight`` is tuned
between ``balanced`` (weights computed once from the whole training set, as warm starts require) and
none. On large training sets the rows are subsampled (``max_rows``, :mod:`analytics.training.sampling`:
every positive kept while they are under half of it) so 30 trials fit the time budget; calibration on
validation corrects the shifted base rate. sklearn's trees accept NaN, so missing features need no imputation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import average_precision_score, log_loss

from analytics.training.sampling import sample_rows
from analytics.training.tuning import Search

if TYPE_CHECKING:
    from numpy.typing import NDArray

    from analytics.training.data import Matrix

__all__ = ["CHUNK_TREES", "RandomForestData", "fit", "make_search", "positive_proba"]

CHUNK_TREES = 20
"""Trees added between two pruning reports."""
MAX_ROWS = 40_000
"""Training rows kept for the forest (negatives subsampled beyond this): sklearn's exact trees cost
about 50x LightGBM's histograms per row, and 30 trials must fit the time budget on 2 cores."""


class RandomForestData:
    """Training rows (negatives subsampled when large) and validation rows."""

    def __init__(
        self,
        x_train: Matrix,
        y_train: NDArray[Any],
        x_val: Matrix,
        y_val: NDArray[Any],
        *,
        seed: int,
        max_rows: int = MAX_ROWS,
    ) -> None:
        """At most ``max_rows`` training rows (:func:`analytics.training.sampling.sample_rows`).

        Args:
            x_train: Train features.
            y_train: Train labels.
            x_val: Validation features.
            y_val: Validation labels.
            seed: Subsampling seed.
            max_rows: Row budget of the training set.
        """
        y_train = np.asarray(y_train, dtype=np.int8)
        sample = sample_rows(y_train, max_rows, seed)
        self.x_train, self.y_train = x_train[sample.keep], y_train[sample.keep]
        self.x_val, self.y_val = x_val, np.asarray(y_val, dtype=np.int8)
        self.x_val_32 = np.ascontiguousarray(x_val, dtype=np.float32)
        """Validation rows as sklearn's trees take them (float32, C order), converted once."""
        self.negative_sampling_rate, self.positive_sampling_rate = sample.negative_rate, sample.positive_rate

    def score(self, proba: NDArray[np.float64]) -> float:
        """Objective value (maximised): validation PR-AUC, or -log loss without validation positives."""
        if self.y_val.any():
            return float(average_precision_score(self.y_val, proba))
        return -float(log_loss(self.y_val, proba, labels=[0, 1]))


def positive_proba(model: RandomForestClassifier, x: Matrix) -> NDArray[np.float64]:
    """Probability of the positive class (0 when training saw only negatives)."""
    proba = model.predict_proba(x)
    classes = list(model.classes_)
    if 1 not in classes:
        return np.zeros(x.shape[0])
    return np.asarray(proba[:, classes.index(1)], dtype=np.float64)


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    """The search space (``n_estimators`` is the final size; trials grow towards it in chunks)."""
    return {
        "n_estimators": trial.suggest_int("n_estimators", 40, 140, step=CHUNK_TREES),
        "max_depth": trial.suggest_int("max_depth", 4, 16, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 2, 200, log=True),
        "max_features": trial.suggest_float("max_features", 0.05, 0.35),
        "max_samples": trial.suggest_float("max_samples", 0.05, 0.4),
        "class_weight": trial.suggest_categorical("class_weight", ["balanced", "none"]),
    }


def _model(
    params: dict[str, Any], seed: int, n_estimators: int, y: NDArray[np.int8]
) -> RandomForestClassifier:
    weight: dict[int, float] | None = None
    if params.get("class_weight") == "balanced" and 0 < y.sum() < y.size:
        positives = float(y.sum())
        weight = {0: y.size / (2.0 * (y.size - positives)), 1: y.size / (2.0 * positives)}
    return RandomForestClassifier(
        n_estimators=n_estimators,
        max_depth=params["max_depth"],
        min_samples_leaf=params["min_samples_leaf"],
        max_features=params["max_features"],
        max_samples=params["max_samples"],
        class_weight=weight,
        bootstrap=True,
        warm_start=True,
        n_jobs=1,  # trials run side by side, one per core (see analytics.training.tuning)
        random_state=seed,
    )


def fit(data: RandomForestData, params: dict[str, Any], *, seed: int) -> RandomForestClassifier:
    """Fit the final forest with the chosen parameters.

    Args:
        data: Training rows.
        params: Parameters from :func:`suggest`.
        seed: Random seed.

    Returns:
        The fitted forest.
    """
    model = _model(params, seed, int(params["n_estimators"]), data.y_train)
    return model.fit(data.x_train, data.y_train)


def make_search(data: RandomForestData, seed: int) -> Search:
    """The search space and the objective: grow in chunks, report validation PR-AUC after each, prune
    hopeless trials."""

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial)
        model = _model(params, seed, CHUNK_TREES, data.y_train)
        total = np.zeros(data.x_val.shape[0])
        value = float("nan")
        for size in range(CHUNK_TREES, int(params["n_estimators"]) + 1, CHUNK_TREES):
            model.set_params(n_estimators=size)
            model.fit(data.x_train, data.y_train)
            # Only the new trees are evaluated: the forest's probability is the mean over its trees.
            total += _tree_sum(model, data.x_val_32, size - CHUNK_TREES)
            value = data.score(total / size)
            trial.report(value, step=size)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at {size} trees")
        return value

    return Search(suggest, objective)


def _tree_sum(model: RandomForestClassifier, x: NDArray[np.float32], first: int) -> NDArray[np.float64]:
    """Sum over trees ``first:`` of their positive-class probability."""
    classes = list(model.classes_)
    if 1 not in classes:
        return np.zeros(x.shape[0])
    column = classes.index(1)
    out = np.zeros(x.shape[0])
    for tree in model.estimators_[first:]:
        out += tree.predict_proba(x, check_input=False)[:, column]
    return out
