"""Isotonic calibration exported as arrays: monotone, rank-preserving, identical in serving."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from analytics.serving import calibrate
from analytics.training.calibration import apply_calibration, fit_calibration


def test_calibration_maps_scores_to_frequencies_and_keeps_the_ranking():
    rng = np.random.default_rng(0)
    raw = rng.random(5000)
    y = (rng.random(5000) < raw**3).astype(int)  # true probability raw^3: raw scores overstate risk
    spec = fit_calibration(raw, y)
    probability = apply_calibration(spec, raw)
    assert np.all(np.diff(np.asarray(spec.x)) > 0) and np.all(np.diff(np.asarray(spec.y)) >= 0)
    assert roc_auc_score(y, probability) == roc_auc_score(y, raw)
    # calibrated probabilities are close to the truth on average, raw ones are not
    assert abs(probability.mean() - y.mean()) < 0.01 < abs(raw.mean() - y.mean())
    bucket = (raw > 0.45) & (raw < 0.55)
    assert abs(probability[bucket].mean() - 0.125) < 0.05


def test_serving_applies_the_same_map():
    raw = np.linspace(0, 1, 50)
    spec = fit_calibration(raw, (raw > 0.7).astype(int))
    x, yv = np.asarray(spec.x), np.asarray(spec.y)
    np.testing.assert_array_equal(apply_calibration(spec, raw), calibrate(raw, x, yv, spec.tie_break))


def test_one_class_gives_the_identity():
    spec = fit_calibration(np.array([0.2, 0.4]), np.array([0, 0]))
    assert (spec.x, spec.y) == ([0.0, 1.0], [0.0, 1.0])
