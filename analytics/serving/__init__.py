"""Load and call an exhaustion model without Spark, MLflow or pandas: numpy + LightGBM only.

The control plane imports this package. Importing it costs numpy alone: LightGBM is imported when a
bundle is loaded, and MLflow only inside :func:`load_registered` (to resolve an alias and download).

    predictor = load_bundle("path/to/bundle")            # or load_registered(uri, name, "champion")
    risk = predictor.predict(rows)                        # (n, len(predictor.feature_names)) -> (n,)
    alarms = risk >= predictor.threshold
    eta = predictor.tte(rows)["mem_util"]                 # seconds at quantiles (0.1, 0.5, 0.9)
    why = predictor.explain(rows[:1])[0]                  # top contributing features

See ``_bundle`` for the on-disk format.
"""

from __future__ import annotations

from analytics.serving._bundle import (
    BUNDLE_FORMAT_VERSION,
    BundleSpec,
    CalibrationSpec,
    TteSpec,
    read_spec,
    write_spec,
)
from analytics.serving._predictor import Explanation, Predictor, calibrate, load_bundle
from analytics.serving._registry import BUNDLE_ARTIFACT, ModelNotFoundError, load_registered, resolve_version

__all__ = [
    "BUNDLE_ARTIFACT",
    "BUNDLE_FORMAT_VERSION",
    "BundleSpec",
    "CalibrationSpec",
    "Explanation",
    "ModelNotFoundError",
    "Predictor",
    "TteSpec",
    "calibrate",
    "load_bundle",
    "load_registered",
    "read_spec",
    "resolve_version",
    "write_spec",
]
