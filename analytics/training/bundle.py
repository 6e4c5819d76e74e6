"""Write a training result as a serving bundle (format: ``analytics.serving._bundle``)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from analytics.serving import BundleSpec, TteSpec, write_spec
from analytics.training.tte import QUANTILES

if TYPE_CHECKING:
    from pathlib import Path

    from analytics.training.pipeline import TrainResult

__all__ = ["write_bundle"]


def _finite(value: object) -> float | None:
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


def write_bundle(result: TrainResult, directory: Path) -> Path:
    """Write the LightGBM model, its calibration, thresholds and TTE models into ``directory``.

    Args:
        result: A training result with a fitted LightGBM model.
        directory: Target directory (created).

    Returns:
        ``directory``.

    Raises:
        ValueError: The result has no LightGBM model (its train period had no positive row).
    """
    fit = result.models.get("lightgbm")
    if fit is None:
        raise ValueError("no LightGBM model to bundle: " + "; ".join(result.notes))
    directory.mkdir(parents=True, exist_ok=True)
    fit.model.save_model(str(directory / "model.txt"))
    tte: dict[str, TteSpec] = {}
    for resource, model in result.tte.items():
        files = []
        for quantile, booster in zip(QUANTILES, model.boosters, strict=True):
            name = f"tte_{resource}_q{round(quantile * 100):02d}.txt"
            booster.save_model(str(directory / name))
            files.append(name)
        tte[resource] = TteSpec(
            quantiles=list(QUANTILES),
            files=files,
            mae_minutes=_finite(model.mae_minutes),
            coverage=_finite(model.coverage),
        )
    data = result.data
    metrics = result.evaluation.table.get("lightgbm", {})
    spec = BundleSpec(
        feature_names=list(data.feature_names),
        feature_set_version=data.feature_set_version,
        step_seconds=data.step_seconds,
        horizon_seconds=data.horizon_seconds,
        threshold=fit.threshold,
        calibration=fit.calibration,
        resources=list(data.resources),
        label_threshold_percent=data.threshold_percent,
        label_min_duration_seconds=data.min_duration_seconds,
        baselines={name: dict(params) for name, params in result.baselines.params.items()},
        tte=tte,
        metrics={k: _finite(v) for k, v in metrics.items() if k not in {"note"}},
        created_at=datetime.now(tz=UTC).isoformat(),
    )
    write_spec(directory, spec)
    return directory
