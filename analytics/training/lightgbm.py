"""LightGBM: search space, the Optuna objective (early stopping + pruning), and the final fit.

The objective trains on the train split and scores average precision (PR-AUC) on validation onset rows,
the metric that matters under heavy class imbalance. Imbalance is handled by ``scale_pos_weight``, tuned
between 1 and the negative/positive ratio; calibration on validation afterwards undoes its skew.
The binned ``Dataset`` is built once per worker thread and reused by its trials. Beyond
``MAX_TRAIN_ROWS`` rows, negatives are subsampled uniformly and every positive kept while positives are
under half the budget (:mod:`analytics.training.sampling`); the validation calibration restores the base
rate. This keeps 30 trials on a 1M-row fleet within budget.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np
import optuna

from analytics.training.sampling import sample_rows
from analytics.training.tuning import Search

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from numpy.typing import NDArray

    from analytics.training.data import Matrix

__all__ = [
    "MAX_ROUNDS",
    "THREADS",
    "LightGBMData",
    "PruningCallback",
    "base_params",
    "fit",
    "make_search",
]

MAX_TRAIN_ROWS = 300_000
"""Training rows kept (negatives subsampled beyond this)."""
MAX_ROUNDS = 400
"""Upper bound on boosting rounds; early stopping usually ends far sooner."""
EARLY_STOPPING_ROUNDS = 25
"""Rounds without validation improvement before a fit stops."""
REPORT_EVERY = 10
"""Report to the pruner every this many rounds (each report is a storage write)."""


THREADS = 1
"""LightGBM threads per fit. Parallelism comes from running trials side by side (one per core) instead:
OpenMP threads spin-wait, and on shared cores two threads were measured 5x slower than one (300k rows,
100 rounds: 6 s wall with one thread, 35 s with two, while other processes ran)."""


def base_params(seed: int, metric: str, threads: int | None = None) -> dict[str, Any]:
    """Fixed LightGBM parameters (objective, metric, determinism, threads)."""
    return {
        "objective": "binary",
        "metric": metric,
        "verbosity": -1,
        "seed": seed,
        "deterministic": True,
        "force_col_wise": True,
        "num_threads": threads or os.cpu_count() or 1,
        "feature_pre_filter": False,
    }


class LightGBMData:
    """Train and validation rows, binned once per worker thread for every trial and the final fit."""

    def __init__(
        self,
        x_train: Matrix,
        y_train: NDArray[Any],
        x_val: Matrix,
        y_val: NDArray[Any],
        feature_names: Sequence[str],
        *,
        seed: int = 0,
        max_rows: int = MAX_TRAIN_ROWS,
    ) -> None:
        """Bin the data.

        Args:
            x_train: Train features.
            y_train: Train labels.
            x_val: Validation features.
            y_val: Validation labels.
            feature_names: Column names.
            seed: Seed of the negative subsampling.
            max_rows: Training rows kept (see :func:`analytics.training.sampling.sample_rows`).
        """
        names = [str(n) for n in feature_names]
        y_train = np.asarray(y_train, dtype=np.int8)
        sample = sample_rows(y_train, max_rows, seed)
        self.negative_sampling_rate, self.positive_sampling_rate = sample.negative_rate, sample.positive_rate
        if not sample.keep.all():
            x_train, y_train = x_train[sample.keep], y_train[sample.keep]
        self._raw = (x_train, y_train, x_val, np.asarray(y_val), names)
        self._local = threading.local()
        self.rows = int(np.size(y_train))
        self.positives = int(np.sum(y_train))
        self.negatives = int(np.size(y_train) - self.positives)
        self.val_has_positives = bool(np.any(y_val))
        self.metric = "average_precision" if self.val_has_positives else "binary_logloss"

    def sets(self) -> tuple[lgb.Dataset, lgb.Dataset]:
        """This thread's binned train and validation sets (built on first use in each thread).

        Trials run in parallel threads, and ``lightgbm.train`` updates its ``Dataset`` objects, so each
        thread has its own pair (binned identically: same data, same parameters).
        """
        pair: tuple[lgb.Dataset, lgb.Dataset] | None = getattr(self._local, "pair", None)
        if pair is None:
            x_train, y_train, x_val, y_val, names = self._raw
            # 63 bins: histograms 4x cheaper than 255, no measurable loss on smooth telemetry features.
            params = {"feature_pre_filter": False, "verbosity": -1, "max_bin": 63, "num_threads": THREADS}
            train = lgb.Dataset(x_train, y_train, feature_name=names, params=params, free_raw_data=False)
            valid = lgb.Dataset(x_val, y_val, reference=train, params=params, free_raw_data=False)
            pair = self._local.pair = (train, valid)
        return pair

    def score(self, booster: lgb.Booster) -> float:
        """The objective value of a fitted booster (maximised): validation PR-AUC, else -log loss."""
        value = float(booster.best_score["valid_0"][self.metric])
        return value if self.metric == "average_precision" else -value


class PruningCallback:
    """Report the validation metric to Optuna every few rounds and stop a hopeless trial."""

    def __init__(self, trial: optuna.Trial, metric: str, every: int = REPORT_EVERY) -> None:
        """Watch ``metric`` of the first validation set.

        Args:
            trial: The running trial.
            metric: LightGBM metric name (higher is better for ``average_precision``).
            every: Report period, in rounds.
        """
        self.trial, self.metric, self.every = trial, metric, every
        self.order = 0

    def __call__(self, env: lgb.callback.CallbackEnv) -> None:
        """LightGBM callback protocol."""
        if (env.iteration + 1) % self.every:
            return
        for entry in env.evaluation_result_list or []:
            name, value, higher_better = entry[1], entry[2], entry[3]
            if name == self.metric:
                self.trial.report(float(value) if higher_better else -float(value), step=env.iteration + 1)
                if self.trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at round {env.iteration + 1}")
                return


def suggest(trial: optuna.Trial, neg_pos_ratio: float) -> dict[str, Any]:
    """The search space."""
    params: dict[str, Any] = {
        "learning_rate": trial.suggest_float("learning_rate", 0.04, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 15, 127, log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 20, 2000, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.3, 1.0),
        "bagging_fraction": trial.suggest_float("bagging_fraction", 0.3, 1.0),
        "bagging_freq": 1,
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 30.0, log=True),
        "min_gain_to_split": trial.suggest_float("min_gain_to_split", 0.0, 1.0),
    }
    upper = max(neg_pos_ratio, 1.0 + 1e-6)
    params["scale_pos_weight"] = trial.suggest_float("scale_pos_weight", 1.0, upper, log=True)
    return params


def fit(
    data: LightGBMData,
    params: dict[str, Any],
    *,
    seed: int,
    rounds: int | None = None,
    callbacks: Sequence[Callable[[lgb.callback.CallbackEnv], None]] = (),
) -> lgb.Booster:
    """Fit one booster: early stopping on validation, or exactly ``rounds`` rounds when given.

    Args:
        data: The binned sets.
        params: Tuned parameters (merged over :func:`base_params`).
        seed: Random seed.
        rounds: Fixed number of rounds (no early stopping); ``None`` for early stopping.
        callbacks: Extra LightGBM callbacks (pruning).

    Returns:
        The booster (``best_iteration`` set under early stopping).
    """
    full = base_params(seed, data.metric, THREADS) | params
    cbs = list(callbacks)
    if rounds is None:
        cbs.append(lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False))
    train, valid = data.sets()
    return lgb.train(
        full,
        train,
        num_boost_round=rounds or MAX_ROUNDS,
        valid_sets=[valid],
        valid_names=["valid_0"],
        callbacks=cbs,
    )


def make_search(data: LightGBMData, seed: int) -> Search:
    """The search space and the objective: fit with early stopping and pruning; the validation score."""
    ratio = data.negatives / max(data.positives, 1)

    def space(trial: optuna.Trial) -> dict[str, Any]:
        return suggest(trial, ratio)

    def objective(trial: optuna.Trial) -> float:
        booster = fit(data, space(trial), seed=seed, callbacks=[PruningCallback(trial, data.metric)])
        trial.set_user_attr("best_iteration", int(booster.best_iteration or booster.current_iteration()))
        return data.score(booster)

    return Search(space, objective)
