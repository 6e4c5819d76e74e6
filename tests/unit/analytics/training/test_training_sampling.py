"""Row budgets: rare positives kept, common negatives subsampled, and neither class squeezed out."""

from __future__ import annotations

import numpy as np

from analytics.training.random_forest import RandomForestData
from analytics.training.sampling import sample_rows


def test_small_sets_are_kept_whole():
    y = np.array([0, 1, 0, 0, 1])
    sample = sample_rows(y, max_rows=10, seed=0)
    assert sample.keep.all() and sample.positive_rate == sample.negative_rate == 1.0


def test_negatives_are_subsampled_and_every_positive_kept_while_positives_are_few():
    y = np.zeros(10_000, dtype=np.int8)
    y[::100] = 1  # 100 positives
    sample = sample_rows(y, max_rows=1_000, seed=0)
    assert sample.keep.sum() == 1_000
    assert y[sample.keep].sum() == 100 and sample.positive_rate == 1.0
    assert sample.negative_rate == 900 / 9_900


def test_positives_beyond_half_the_budget_are_subsampled_too():
    """A 10M-row fleet has ~100k training positives: more than the forest's whole budget."""
    y = np.zeros(200_000, dtype=np.int8)
    y[::2] = 1
    sample = sample_rows(y, max_rows=40_000, seed=1)
    kept = y[sample.keep]
    assert kept.size == 40_000 and kept.sum() == 20_000
    assert sample.positive_rate == sample.negative_rate == 0.2
    again = sample_rows(y, max_rows=40_000, seed=1)
    assert (again.keep == sample.keep).all()


def test_the_forest_gets_both_classes_when_positives_exceed_its_budget():
    rng = np.random.default_rng(0)
    y = (rng.random(100_000) < 0.6).astype(np.int8)
    x = rng.random((100_000, 3), dtype=np.float32)
    data = RandomForestData(x, y, x[:10], y[:10], seed=0, max_rows=4_000)
    assert data.y_train.size == 4_000
    assert 1_500 <= int((data.y_train == 0).sum()) <= 2_500
