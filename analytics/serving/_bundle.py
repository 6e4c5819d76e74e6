"""The serving bundle: everything the control plane needs to score, in plain files (no pickle).

Layout of a bundle directory (format version 1)::

    bundle.json             metadata, calibration arrays, thresholds (see ``BundleSpec``)
    model.txt               the LightGBM classifier, LightGBM's own text format
    tte_<resource>_q<NN>.txt  optional: LightGBM quantile regressors of log1p(seconds to exhaustion)

``bundle.json`` holds only JSON types, so any language can read it; the calibration is an isotonic map
stored as its breakpoints (``x`` raw score -> ``y`` probability, linear between them), applied with
``numpy.interp``. Writing and reading live here, in one place, so the format has one definition.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BUNDLE_FORMAT_VERSION", "BundleSpec", "CalibrationSpec", "TteSpec", "read_spec", "write_spec"]

BUNDLE_FORMAT_VERSION = 1
SPEC_FILE = "bundle.json"
MODEL_FILE = "model.txt"


@dataclass(frozen=True)
class CalibrationSpec:
    """Isotonic calibration of the raw LightGBM score, as breakpoints of a monotone piecewise-linear map."""

    x: list[float]
    """Raw scores (increasing)."""
    y: list[float]
    """Calibrated probabilities at ``x`` (non-decreasing)."""
    tie_break: float = 1e-6
    """Weight of the raw score blended in, so the map is strictly increasing and keeps the ranking."""


@dataclass(frozen=True)
class TteSpec:
    """Quantile regressors of the time to exhaustion for one resource (trained on rows that exhaust)."""

    quantiles: list[float]
    """Quantile levels, increasing, e.g. ``[0.1, 0.5, 0.9]``."""
    files: list[str]
    """One LightGBM text model per quantile, predicting ``log1p(seconds)``."""
    mae_minutes: float | None = None
    """Median model's mean absolute error on the test split, minutes."""
    coverage: float | None = None
    """Share of test rows whose true time lies in [first quantile, last quantile]."""


@dataclass(frozen=True)
class BundleSpec:
    """Metadata of a serving bundle (the content of ``bundle.json``)."""

    feature_names: list[str]
    """Model inputs, in column order."""
    feature_set_version: str
    """Version of the feature specification the model was trained on; online features must match."""
    step_seconds: int
    """Resampling step of the training data; online features must be computed at this step."""
    horizon_seconds: int
    """Prediction horizon: the probability is of an exhaustion onset within (t, t + horizon]."""
    threshold: float
    """Decision threshold on the calibrated probability, chosen on the validation split."""
    calibration: CalibrationSpec
    """Raw score -> probability map, fitted on the validation split."""
    resources: list[str] = field(default_factory=list)
    """Resources the label covers (e.g. cpu_util, mem_util, disk_util)."""
    label_threshold_percent: float = 95.0
    """Utilisation at or above which a resource counts as exhausted."""
    label_min_duration_seconds: int = 180
    """Minimum time above the threshold for an exhaustion episode."""
    baselines: dict[str, dict[str, float]] = field(default_factory=dict)
    """Baseline name -> its validation-chosen parameters (``threshold``, ``window_seconds``), for evaluate."""
    tte: dict[str, TteSpec] = field(default_factory=dict)
    """Time-to-exhaustion models per resource."""
    metrics: dict[str, float | None] = field(default_factory=dict)
    """Test metrics of the model at training time (informative)."""
    created_at: str = ""
    """ISO-8601 UTC time the bundle was written."""
    format_version: int = BUNDLE_FORMAT_VERSION
    """Bundle layout version."""


def write_spec(directory: Path, spec: BundleSpec) -> Path:
    """Write ``bundle.json`` into ``directory`` (created if needed).

    Args:
        directory: The bundle directory.
        spec: The metadata.

    Returns:
        The path written.
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / SPEC_FILE
    path.write_text(json.dumps(asdict(spec), indent=2, sort_keys=True, allow_nan=True) + "\n")
    return path


def read_spec(directory: Path) -> BundleSpec:
    """Read and validate ``bundle.json``.

    Args:
        directory: The bundle directory.

    Returns:
        The metadata.

    Raises:
        ValueError: The file is not a bundle of a supported format version.
    """
    raw: dict[str, Any] = json.loads((directory / SPEC_FILE).read_text())
    version = raw.get("format_version")
    if version != BUNDLE_FORMAT_VERSION:
        msg = f"unsupported bundle format_version {version!r} (expected {BUNDLE_FORMAT_VERSION})"
        raise ValueError(msg)
    raw["calibration"] = CalibrationSpec(**raw["calibration"])
    raw["tte"] = {name: TteSpec(**tte) for name, tte in raw.get("tte", {}).items()}
    calibration = raw["calibration"]
    if len(calibration.x) != len(calibration.y) or not calibration.x:
        raise ValueError("calibration x and y must be non-empty and of equal length")
    return BundleSpec(**raw)
