"""Probability calibration on the validation split, exported as plain arrays for serving.

Isotonic regression maps raw scores to observed frequencies (monotone, no parametric shape), so
"risk 80 %" means that about 80 % of such rows saw an exhaustion onset in validation. The fitted map is
kept as its breakpoints (``x``, ``y``) and applied with ``numpy.interp`` by ``analytics.serving``; sklearn
is needed only to fit it. A tiny blend with the raw score keeps the map strictly increasing, so the
calibrated probability ranks rows exactly as the raw score does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from analytics.serving import CalibrationSpec, calibrate

if TYPE_CHECKING:
    from numpy.typing import NDArray

__all__ = ["apply_calibration", "fit_calibration"]

_MAX_BREAKPOINTS = 2_000


def fit_calibration(raw: NDArray[Any], y: NDArray[Any]) -> CalibrationSpec:
    """Fit an isotonic map from raw scores to probabilities.

    Args:
        raw: Raw scores in [0, 1] of validation onset rows.
        y: Their 0/1 labels.

    Returns:
        The map as breakpoints; the identity when validation has a single class (nothing to fit).
    """
    raw = np.asarray(raw, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if raw.size == 0 or y.min(initial=0.0) == y.max(initial=0.0):
        return CalibrationSpec(x=[0.0, 1.0], y=[0.0, 1.0])
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, y)
    x_points = np.asarray(iso.X_thresholds_, dtype=np.float64)
    y_points = np.asarray(iso.y_thresholds_, dtype=np.float64)
    if x_points.size > _MAX_BREAKPOINTS:
        keep = np.unique(np.linspace(0, x_points.size - 1, _MAX_BREAKPOINTS).astype(int))
        x_points, y_points = x_points[keep], y_points[keep]
    if x_points.size == 1:
        x_points = np.array([x_points[0], x_points[0] + 1e-12])
        y_points = np.repeat(y_points, 2)
    return CalibrationSpec(x=x_points.tolist(), y=y_points.tolist())


def apply_calibration(spec: CalibrationSpec, raw: NDArray[Any]) -> NDArray[np.float64]:
    """Calibrated probabilities, exactly as serving computes them."""
    return calibrate(
        np.asarray(raw, dtype=np.float64),
        np.asarray(spec.x, dtype=np.float64),
        np.asarray(spec.y, dtype=np.float64),
        spec.tie_break,
    )
