"""Optuna studies: seeded TPE, a median pruner, persisted in an RDB storage so a run can resume.

Trials run side by side, one per core (``jobs``), each fit single-threaded: LightGBM (through ctypes)
and sklearn's tree builder release the GIL, and independent trials scale better on shared cores than
OpenMP threads inside one fit. With more than one job the order in which trials finish varies, so the
sequence of TPE suggestions is not bit-reproducible; the split, the subsampling and every fit given its
parameters are (``--seed``), and a single job (``jobs=1``) reproduces a study exactly.

A study's name carries a fingerprint of the data and split, so re-running ``cloudsense train`` on the
same features resumes the same study (only the missing trials run), and different data never mixes; nor do
different search spaces (``SEARCH_VERSION``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import optuna
import structlog
from optuna.trial import TrialState
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["SEARCH_VERSION", "StudySummary", "fingerprint", "run_study"]

SEARCH_VERSION = 2
"""Part of every study's fingerprint: bump it when a search space or the row sampling changes, so that a
re-run starts a new study instead of resuming trials scored under the old rules (2: positives subsampled
past half the row budget)."""

log = structlog.get_logger()


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
    objective: Callable[[optuna.Trial], float],
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
        objective: Maximised objective.
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
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("optuna").setLevel(logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(trials // 3, 2)))
    pruner = optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2, interval_steps=1)
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

            def advance(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
                best = "-"
                if any(t.state == TrialState.COMPLETE for t in study.trials):
                    best = f"{study.best_value:.4f}"
                progress.update(task, advance=1, best=best)

            n_jobs = jobs or os.cpu_count() or 1
            study.optimize(
                objective,
                n_trials=remaining,
                timeout=timeout,
                callbacks=[advance],
                n_jobs=min(n_jobs, remaining),
            )
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
