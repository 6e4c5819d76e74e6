"""Optuna studies: seeded TPE, a median pruner, persisted in an RDB storage so a run can resume.

Trials run side by side, one per core (``jobs``), each fit single-threaded: LightGBM (through ctypes)
and sklearn's tree builder release the GIL, and independent trials scale better on shared cores than
OpenMP threads inside one fit. They are pipelined so that a study still reproduces from its seed with any
number of jobs: trial k is asked (and its parameters sampled on the main thread, :attr:`Search.space`)
once trial k - jobs has been told, results are told back in trial order, and the pruner compares a trial
only with the trials told before it was asked. So the sampler and the pruner see the same history whatever
order the fits finish in. The price: a worker whose trial finished before an older one waits for it.

A study's name carries a fingerprint of the data and split, so re-running ``cloudsense train`` on the
same features resumes the same study (only the missing trials run), and different data never mixes; nor do
different search spaces (``SEARCH_VERSION``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
import structlog
from optuna.trial import TrialState
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SEARCH_VERSION", "Search", "StudySummary", "fingerprint", "run_study"]

SEARCH_VERSION = 2
"""Part of every study's fingerprint: bump it when a search space or the row sampling changes, so that a
re-run starts a new study instead of resuming trials scored under the old rules (2: positives subsampled
past half the row budget)."""

log = structlog.get_logger()


@dataclass(frozen=True)
class Search:
    """What a study tunes: a search space and an objective."""

    space: Callable[[optuna.Trial], dict[str, Any]]
    """Samples a trial's parameters (called on the main thread, in trial order, before the fit)."""
    objective: Callable[[optuna.Trial], float]
    """Fits with the trial's parameters (the same ``suggest_*`` calls return the sampled values) and
    returns the value to maximise; may raise ``optuna.TrialPruned``."""


@dataclass(frozen=True)
class StudySummary:
    """What a study found."""

    name: str
    """Study name in the storage."""
    best_value: float
    """Best objective value (validation PR-AUC, or -log loss)."""
    best_params: dict[str, Any]
    """Parameters of the best trial."""
    best_attrs: dict[str, Any]
    """User attributes of the best trial (e.g. ``best_iteration``)."""
    complete: int
    """Trials that finished."""
    pruned: int
    """Trials the pruner stopped."""


def fingerprint(**parts: Any) -> str:
    """A short stable hash of the data and split a study belongs to."""
    blob = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def run_study(
    name: str,
    search: Search,
    *,
    storage: str | None,
    trials: int,
    timeout: float | None,
    seed: int,
    show_progress: bool = True,
    jobs: int | None = None,
) -> StudySummary:
    """Create or resume a study and run it until it holds ``trials`` finished or pruned trials.

    Args:
        name: Study name (include a fingerprint of the data).
        search: Search space and maximised objective.
        storage: RDB URL (``sqlite:///...``); ``None`` keeps the study in memory.
        trials: Target number of finished + pruned trials.
        timeout: Stop starting new trials after this many seconds.
        seed: TPE sampler seed.
        show_progress: Draw a progress bar on stderr.
        jobs: Trials run at once (default: the number of cores).

    Returns:
        The study's summary.

    Raises:
        RuntimeError: No trial finished (all failed or were pruned).
        Exception: Whatever a trial raised other than ``TrialPruned`` (the trial is marked failed first).
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(trials // 3, 2)))
    n_jobs = max(1, jobs or os.cpu_count() or 1)
    median = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2, interval_steps=1)
    pruner = _SettledPruner(median, lag=n_jobs)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        direction="maximize",
        load_if_exists=True,
    )
    done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in study.trials)
    remaining = max(trials - done, 0)
    log.info("study_start", study=name, resumed_trials=done, trials_to_run=remaining)
    if remaining:
        with Progress(
            TextColumn(f"[bold]{name.split('-')[0]}[/] tuning"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TimeElapsedColumn(),
            transient=False,
            disable=not show_progress,
        ) as progress:
            task = progress.add_task("tune", total=remaining, best="-")

            def advance() -> None:
                best = "-"
                if any(t.state == TrialState.COMPLETE for t in study.trials):
                    best = f"{study.best_value:.4f}"
                progress.update(task, advance=1, best=best)

            _optimize_pipelined(study, search, remaining, n_jobs, timeout, advance)
    states = [t.state for t in study.trials]
    if TrialState.COMPLETE not in states:
        raise RuntimeError(f"study {name}: no trial completed ({len(states)} trials)")
    best = study.best_trial
    return StudySummary(
        name=name,
        best_value=float(best.value if best.value is not None else float("nan")),
        best_params=dict(best.params),
        best_attrs=dict(best.user_attrs),
        complete=states.count(TrialState.COMPLETE),
        pruned=states.count(TrialState.PRUNED),
    )


_Outcome = tuple[TrialState, float | None, BaseException | None]


def _run_trial(objective: Callable[[optuna.Trial], float], trial: optuna.Trial) -> _Outcome:
    try:
        value = objective(trial)
    except optuna.TrialPruned:
        return TrialState.PRUNED, None, None
    except Exception as exc:  # noqa: BLE001 (told as FAIL; raised once the trials in flight are told)
        return TrialState.FAIL, None, exc
    return TrialState.COMPLETE, float(value), None


class _SettledView:
    """A study as it stood when a trial was asked: ``get_trials`` omits trials numbered above ``last``."""

    def __init__(self, study: optuna.Study, last: int) -> None:
        self._study, self._last = study, last

    def get_trials(self, *args: Any, **kwargs: Any) -> list[optuna.trial.FrozenTrial]:
        return [t for t in self._study.get_trials(*args, **kwargs) if t.number <= self._last]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._study, name)


class _SettledPruner(optuna.pruners.BasePruner):
    """A pruner that judges trial k against the trials told before k was asked (numbered k - lag or lower).

    Trials told while k runs (its elders, finishing) would otherwise change k's verdict with the timing.
    """

    def __init__(self, inner: optuna.pruners.BasePruner, lag: int) -> None:
        self._inner, self._lag = inner, lag

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        view: Any = _SettledView(study, trial.number - self._lag)
        return self._inner.prune(view, trial)


def _optimize_pipelined(
    study: optuna.Study,
    search: Search,
    trials: int,
    jobs: int,
    timeout: float | None,
    advance: Callable[[], None],
) -> None:
    """Run ``trials`` trials, at most ``jobs`` untold at once; none is asked after ``timeout`` seconds."""
    started = time.monotonic()
    running: list[tuple[optuna.Trial, Future[_Outcome]]] = []  # oldest first
    asked, failure = 0, None
    with ThreadPoolExecutor(max_workers=max(1, min(jobs, trials))) as pool:
        while True:
            while (
                failure is None
                and asked < trials
                and len(running) < jobs
                and (timeout is None or time.monotonic() - started < timeout)
            ):
                trial = study.ask()
                search.space(trial)
                running.append((trial, pool.submit(_run_trial, search.objective, trial)))
                asked += 1
            if not running:
                break
            trial, future = running.pop(0)
            state, value, exc = future.result()
            if state is TrialState.COMPLETE:
                study.tell(trial, value)
            else:
                study.tell(trial, state=state)
            advance()
            failure = failure or exc
    if failure is not None:
        raise failure
