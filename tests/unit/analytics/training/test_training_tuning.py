"""Optuna studies run trials side by side and still reproduce from their seed."""

from __future__ import annotations

import os
import time

import optuna
import pytest
from optuna.trial import TrialState

from analytics.training.tuning import Search, run_study


def _space(trial: optuna.Trial) -> dict[str, float]:
    return {"x": trial.suggest_float("x", -3.0, 3.0), "y": trial.suggest_float("y", -3.0, 3.0)}


def _jittery_search() -> Search:
    """A search whose fits take a random (unseeded) time, reported step by step so the pruner acts."""

    def objective(trial: optuna.Trial) -> float:
        params = _space(trial)
        value = -((params["x"] - 1.0) ** 2) - (params["y"] + 0.5) ** 2
        for step in range(4):
            time.sleep(int.from_bytes(os.urandom(1), "little") / 255 * 0.01)
            trial.report(value - (3 - step), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return value

    return Search(_space, objective)


def _trials(storage: str, name: str) -> list[tuple[int, TrialState, dict[str, float]]]:
    study = optuna.load_study(study_name=name, storage=storage)
    return [(t.number, t.state, t.params) for t in study.trials]


def test_parallel_trials_reproduce_the_study_whatever_order_they_finish_in(tmp_path):
    storage = f"sqlite:///{tmp_path}/optuna.db"
    runs = []
    for name in ("first", "second"):
        summary = run_study(name, _jittery_search(), storage=storage, trials=16, timeout=None, seed=7, jobs=2)
        runs.append(_trials(storage, name))
        assert summary.complete + summary.pruned == 16
    assert runs[0] == runs[1]
    assert any(state is TrialState.PRUNED for _, state, _ in runs[0])  # the pruner took part
    assert len({p["x"] for _, _, p in runs[0]}) == 16


def test_a_failing_trial_is_recorded_and_raised(tmp_path):
    storage = f"sqlite:///{tmp_path}/optuna.db"

    def objective(trial: optuna.Trial) -> float:
        params = _space(trial)
        if trial.number == 3:
            raise ValueError("bad fit")
        return params["x"]

    with pytest.raises(ValueError, match="bad fit"):
        run_study("fails", Search(_space, objective), storage=storage, trials=6, timeout=None, seed=0, jobs=2)
    states = [state for _, state, _ in _trials(storage, "fails")]
    # Trial 4 was already running: it is finished and told before the error is raised (none left RUNNING).
    assert states == [TrialState.COMPLETE] * 3 + [TrialState.FAIL, TrialState.COMPLETE]


def test_the_pruner_ignores_trials_told_after_the_trial_was_asked():
    from analytics.training.tuning import _SettledPruner

    study = optuna.create_study(direction="maximize")
    for value in (0.1, 0.2, 0.3, 0.0, 10.0):  # trials 0-4; with two jobs, trial 4 ran beside trial 5
        study.add_trial(optuna.trial.create_trial(value=value, intermediate_values={2: value}))
    judged = optuna.trial.create_trial(state=TrialState.RUNNING, intermediate_values={2: 0.18})
    judged.number = 5
    median = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    assert median.prune(study, judged)  # 0.18 is below the median of all five (0.2) ...
    assert not _SettledPruner(median, lag=2).prune(study, judged)  # ... not of trials 0-3 (0.15)
