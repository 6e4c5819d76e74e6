"""The Spark ETL: data quality, resampling to a uniform step, window features, labels.

Public API (imported lazily, so that importing the package does not import pyspark)::

    report = run_etl(spark, "LAKE", "FEATURES", settings)          # read, transform, write atomically
    featured = build_feature_frame(raw_df, settings.label)         # the same on a DataFrame, nothing written
    featured.frame, featured.step_seconds, featured.report

See :mod:`analytics.etl.pipeline` for the output layout and :mod:`analytics.etl.quality`,
:mod:`analytics.etl.resample` and :mod:`analytics.etl.labels` for the rules of each step.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from analytics.etl.options import EtlOptions, choose_step
    from analytics.etl.pipeline import (
        FEATURE_SET_FILE,
        QUALITY_REPORT_FILE,
        FeaturedFrame,
        build_feature_frame,
        run_etl,
    )
    from analytics.etl.quality import EtlInputError
    from analytics.etl.report import QualityReport

__all__ = [
    "FEATURE_SET_FILE",
    "QUALITY_REPORT_FILE",
    "EtlInputError",
    "EtlOptions",
    "FeaturedFrame",
    "QualityReport",
    "build_feature_frame",
    "choose_step",
    "run_etl",
]

_HOMES = {
    "EtlOptions": "analytics.etl.options",
    "choose_step": "analytics.etl.options",
    "QualityReport": "analytics.etl.report",
    "EtlInputError": "analytics.etl.quality",
    "FEATURE_SET_FILE": "analytics.etl.pipeline",
    "QUALITY_REPORT_FILE": "analytics.etl.pipeline",
    "FeaturedFrame": "analytics.etl.pipeline",
    "build_feature_frame": "analytics.etl.pipeline",
    "run_etl": "analytics.etl.pipeline",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'analytics.etl' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
