"""Load a serving bundle and score feature rows with it: numpy + LightGBM only.

LightGBM is imported when a bundle is loaded, not when this module is imported, so importing
``analytics.serving`` costs only numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from analytics.serving._bundle import MODEL_FILE, BundleSpec, read_spec

if TYPE_CHECKING:
    from collections.abc import Mapping

    from numpy.typing import NDArray

__all__ = ["Explanation", "Predictor", "calibrate", "load_bundle"]


def _as_matrix(features: NDArray[Any] | list[float], width: int) -> NDArray[np.float64]:
    matrix = np.asarray(features, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[1] != width:
        msg = f"expected features of shape (n, {width}) or ({width},), got {matrix.shape}"
        raise ValueError(msg)
    return matrix


def calibrate(
    raw: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64], tie_break: float
) -> NDArray[np.float64]:
    """Map raw scores to probabilities with an isotonic map stored as breakpoints.

    The blend with the raw score (weight ``tie_break``) keeps the map strictly increasing, so ranking
    metrics of the calibrated probability equal those of the raw score.

    Args:
        raw: Raw model scores in [0, 1].
        x: Breakpoints (raw scores, increasing).
        y: Probabilities at the breakpoints.
        tie_break: Blend weight of the raw score.

    Returns:
        Calibrated probabilities in [0, 1].
    """
    mapped = np.interp(raw, x, y)
    return np.clip((1.0 - tie_break) * mapped + tie_break * raw, 0.0, 1.0)


@dataclass(frozen=True)
class Explanation:
    """One feature's contribution to one row's score."""

    feature: str
    """Feature name."""
    contribution: float
    """SHAP-style contribution to the raw log-odds (positive: towards exhaustion)."""
    value: float
    """The feature's value in that row."""


class Predictor:
    """A loaded model: calibrated exhaustion probability, alarm, time to exhaustion, explanation."""

    def __init__(self, spec: BundleSpec, booster: Any, tte_boosters: Mapping[str, list[Any]]) -> None:
        """Wrap loaded models; use :func:`load_bundle` rather than calling this directly.

        Args:
            spec: The bundle metadata.
            booster: The LightGBM classifier (``lightgbm.Booster``).
            tte_boosters: Per resource, one quantile regressor per quantile of ``spec.tte``.
        """
        self.spec = spec
        self._booster = booster
        self._tte = dict(tte_boosters)
        self._cal_x = np.asarray(spec.calibration.x, dtype=np.float64)
        self._cal_y = np.asarray(spec.calibration.y, dtype=np.float64)
        self._width = len(spec.feature_names)

    @property
    def feature_names(self) -> tuple[str, ...]:
        """Model inputs in column order."""
        return tuple(self.spec.feature_names)

    @property
    def threshold(self) -> float:
        """Decision threshold on the calibrated probability (chosen on validation)."""
        return self.spec.threshold

    def vector(self, values: Mapping[str, float | None]) -> NDArray[np.float64]:
        """Build one input row from a name -> value mapping (missing or ``None`` -> NaN).

        Args:
            values: Feature values by name.

        Returns:
            A ``(n_features,)`` float64 array in model order.
        """
        return np.array(
            [np.nan if (v := values.get(name)) is None else float(v) for name in self.spec.feature_names],
            dtype=np.float64,
        )

    def predict_raw(self, features: NDArray[Any] | list[float]) -> NDArray[np.float64]:
        """Uncalibrated classifier output for each row (NaN allowed: LightGBM treats it as missing)."""
        matrix = _as_matrix(features, self._width)
        return np.asarray(self._booster.predict(matrix, num_threads=1), dtype=np.float64)

    def predict(self, features: NDArray[Any] | list[float]) -> NDArray[np.float64]:
        """Calibrated probability of an exhaustion onset within the horizon, one per row.

        Args:
            features: ``(n, n_features)`` or ``(n_features,)`` array in :attr:`feature_names` order.

        Returns:
            ``(n,)`` probabilities.
        """
        calibration = self.spec.calibration
        return calibrate(self.predict_raw(features), self._cal_x, self._cal_y, calibration.tie_break)

    def alarm(self, features: NDArray[Any] | list[float]) -> NDArray[np.bool_]:
        """Whether each row's probability reaches the decision threshold."""
        return self.predict(features) >= self.spec.threshold

    def tte(self, features: NDArray[Any] | list[float]) -> dict[str, NDArray[np.float64]]:
        """Predicted seconds to exhaustion per resource, at each quantile of the bundle.

        The estimate is conditional on the resource exhausting within the horizon (the regressors are
        trained on such rows only); read it together with :meth:`predict`.

        Args:
            features: As for :meth:`predict`.

        Returns:
            Resource -> ``(n, n_quantiles)`` seconds, non-decreasing along the quantile axis.
        """
        matrix = _as_matrix(features, self._width)
        out: dict[str, NDArray[np.float64]] = {}
        for resource, boosters in self._tte.items():
            columns = [np.asarray(b.predict(matrix, num_threads=1), dtype=np.float64) for b in boosters]
            seconds = np.expm1(np.sort(np.column_stack(columns), axis=1))
            out[resource] = np.clip(seconds, 0.0, float(self.spec.horizon_seconds))
        return out

    def explain(self, features: NDArray[Any] | list[float], top: int = 5) -> list[list[Explanation]]:
        """The features that push each row's score most, by LightGBM's exact tree contributions.

        Args:
            features: As for :meth:`predict`.
            top: How many contributions to return per row (largest absolute value first).

        Returns:
            One list of :class:`Explanation` per row.
        """
        matrix = _as_matrix(features, self._width)
        contrib = np.asarray(self._booster.predict(matrix, pred_contrib=True, num_threads=1))
        result: list[list[Explanation]] = []
        for row, values in zip(contrib[:, : self._width], matrix, strict=True):
            order = np.argsort(-np.abs(row))[:top]
            names = self.spec.feature_names
            result.append([Explanation(names[i], float(row[i]), float(values[i])) for i in order])
        return result


def load_bundle(path: str | Path) -> Predictor:
    """Load a serving bundle directory written by training.

    Args:
        path: The bundle directory (contains ``bundle.json`` and ``model.txt``).

    Returns:
        A ready :class:`Predictor`.

    Raises:
        FileNotFoundError: ``path`` is not a bundle directory.
        ValueError: The bundle's format is unsupported or its model does not match its feature list.
    """
    import lightgbm  # lazy: kept out of module import time

    directory = Path(path)
    if not (directory / MODEL_FILE).is_file():
        msg = f"{directory} is not a serving bundle (no {MODEL_FILE})"
        raise FileNotFoundError(msg)
    spec = read_spec(directory)
    booster = lightgbm.Booster(model_file=str(directory / MODEL_FILE))
    if booster.num_feature() != len(spec.feature_names):
        msg = f"model has {booster.num_feature()} features, bundle lists {len(spec.feature_names)}"
        raise ValueError(msg)
    tte = {
        resource: [lightgbm.Booster(model_file=str(directory / name)) for name in tte_spec.files]
        for resource, tte_spec in spec.tte.items()
    }
    return Predictor(spec, booster, tte)
