"""The feature specification: every model input, declared once.

``FEATURES`` lists the declarations (:class:`FeatureSpec`); ``FEATURE_NAMES`` is the column order of the
feature table and of the online feature vector. Two implementations read these declarations:

* ``analytics.features.spark``: batch, PySpark window functions (the ETL, training, backtests);
* ``analytics.features.online``: numpy only, for the control plane's scorer (no pandas, no pyspark).

A parity test holds them equal. Change a declaration, add or remove one: bump ``FEATURE_SET_VERSION`` (a test
pins the digest of the declarations to it), so a model is never fed features it was not trained on.

This module is pure Python (no numpy, no pyspark) so that importing the names costs nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from typing import Final

from agent.wire import UTILISATION_METRICS
from analytics.features.cross import CROSS
from analytics.features.current import CURRENT
from analytics.features.cyclic import CALENDAR
from analytics.features.rolling import RESOURCES, ROLLING
from analytics.features.spec import FeatureSpec, Kind, rows_for, window_rows
from analytics.features.trend import TREND

__all__ = [
    "FEATURES",
    "FEATURE_NAMES",
    "FEATURE_SET_DIGEST",
    "FEATURE_SET_VERSION",
    "RESOURCES",
    "FeatureSpec",
    "Kind",
    "history_seconds",
    "lookback_rows",
    "rows_for",
    "window_rows",
]

FEATURE_SET_VERSION: Final = "2"
"""Version of the declarations below; recorded in ``_feature_set.json`` and with every model."""

FEATURES: Final[tuple[FeatureSpec, ...]] = CURRENT + ROLLING + TREND + CROSS + CALENDAR
"""Every feature, in column order."""

FEATURE_NAMES: Final[tuple[str, ...]] = tuple(f.name for f in FEATURES)
"""Column order of the feature table and of the online feature vector."""

FEATURE_SET_DIGEST: Final = hashlib.sha256(
    json.dumps(
        [{k: v for k, v in asdict(f).items() if k != "help"} for f in FEATURES], sort_keys=True
    ).encode()
).hexdigest()[:16]
"""Digest of the declarations (changes whenever a declaration changes, except its ``help`` text)."""

if len(set(FEATURE_NAMES)) != len(FEATURE_NAMES):  # pragma: no cover - a broken declaration
    raise RuntimeError("duplicate feature names in the specification")
_QUANTISED = {Kind.MEAN, Kind.STD, Kind.SLOPE, Kind.TIME_TO_FULL}
if any(f.kind in _QUANTISED and f.source not in UTILISATION_METRICS for f in FEATURES):  # pragma: no cover
    raise RuntimeError("mean/std/slope/time_to_full are exact only on utilisation (percent) metrics")


def lookback_rows(step_seconds: int) -> int:
    """Rows of history before ``t`` that any row-window feature reads, on a grid of ``step_seconds``."""
    return max(rows_for(f, step_seconds) for f in FEATURES)


def history_seconds(step_seconds: int) -> int:
    """History an online caller must supply so that every feature equals its batch value.

    The row windows need :func:`lookback_rows` steps; ``since_high`` looks back ``cap_seconds``.
    """
    caps = [f.cap_seconds for f in FEATURES if f.kind is Kind.SINCE_HIGH]
    return max([lookback_rows(step_seconds) * step_seconds, *caps])
