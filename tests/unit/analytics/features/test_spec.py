"""The feature specification itself: names, versioning, window conversion."""

from __future__ import annotations

import subprocess
import sys

import pytest

import analytics.features as features
from agent.wire import METRIC_NAMES, UTILISATION_METRICS
from analytics.features import (
    FEATURE_NAMES,
    FEATURE_SET_DIGEST,
    FEATURE_SET_VERSION,
    FEATURES,
    Kind,
    history_seconds,
    lookback_rows,
    rows_for,
    window_rows,
)

# Pin of the declarations: change a feature and this fails until FEATURE_SET_VERSION is bumped and the pair
# below updated together (a model must never be served features it was not trained on).
PINNED = {"1": "3a3f2e751b3ad9e6", "2": "2db01c4285c11599"}


def test_version_pins_the_declarations():
    assert PINNED.get(FEATURE_SET_VERSION) == FEATURE_SET_DIGEST, (
        "the feature declarations changed: bump FEATURE_SET_VERSION and pin its new digest here"
    )


def test_names_are_unique_ordered_and_cover_the_brief():
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == len(FEATURES) >= 15
    assert tuple(f.name for f in FEATURES) == FEATURE_NAMES
    assert FEATURE_NAMES[: len(METRIC_NAMES)] == METRIC_NAMES  # current values first
    kinds = {f.kind for f in FEATURES}
    wanted = {Kind.MEAN, Kind.STD, Kind.MIN, Kind.MAX, Kind.SLOPE, Kind.EWMA, Kind.LAG, Kind.RATE}
    wanted |= {Kind.SINCE_HIGH, Kind.HEADROOM, Kind.TIME_TO_FULL, Kind.RATIO, Kind.HOUR_SIN, Kind.DOW_COS}
    assert wanted <= kinds
    assert {f.window_seconds for f in FEATURES if f.kind is Kind.MEAN} == {300, 900, 3600}


def test_every_input_is_a_metric_and_exact_kinds_read_percentages():
    for f in FEATURES:
        assert set(f.inputs) <= set(METRIC_NAMES), f.name
        if f.kind in {Kind.MEAN, Kind.STD, Kind.SLOPE, Kind.TIME_TO_FULL}:
            assert f.source in UTILISATION_METRICS
        if f.kind is Kind.TIME_TO_FULL:
            assert 0 < f.threshold <= 100, f.name


@pytest.mark.parametrize(
    ("seconds", "step", "rows"),
    [
        (300, 60, 5),
        (900, 60, 15),
        (3600, 60, 60),
        (300, 300, 1),
        (900, 300, 3),
        (3600, 300, 12),
        (900, 120, 8),
    ],
)
def test_windows_are_seconds_converted_to_rows(seconds, step, rows):
    assert window_rows(seconds, step) == rows


def test_deviation_and_slope_windows_span_at_least_two_rows():
    std_5 = next(f for f in FEATURES if f.kind is Kind.STD)
    assert rows_for(std_5.__class__(std_5.name, Kind.STD, "cpu_util", 60), 300) == 2
    assert rows_for(std_5.__class__("x", Kind.MEAN, "cpu_util", 60), 300) == 1


def test_history_covers_every_window():
    assert lookback_rows(60) == 60 and lookback_rows(300) == 12
    assert history_seconds(60) >= 60 * 60
    assert history_seconds(60) >= max(f.cap_seconds for f in FEATURES if f.kind is Kind.SINCE_HIGH)


def test_window_rows_rejects_a_nonpositive_step():
    with pytest.raises(ValueError, match="step"):
        window_rows(60, 0)


def test_importing_the_names_pulls_neither_numpy_nor_spark():
    heavy = "('numpy', 'pyspark', 'pandas')"
    code = f"import sys, analytics.features; print(any(m in sys.modules for m in {heavy}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    assert features.__all__ and all(hasattr(features, n) for n in features.__all__)
