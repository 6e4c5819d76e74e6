"""Row budgets for tuning and fitting: keep the rare positives, subsample the common negatives.

Both model families train on at most ``max_rows`` rows so that 30 trials fit the time budget whatever the
fleet's size. Negatives are subsampled uniformly; positives are all kept while they take at most
``max_positive_share`` of the budget, and are subsampled uniformly beyond it (on a 10M-row fleet the
training positives alone outnumber the forest's budget: keeping them all left it one negative). The
probabilities' skew is undone by the calibration on validation, which sees the true base rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["RowSample", "sample_rows"]


@dataclass(frozen=True)
class RowSample:
    """Which training rows to keep, and the share of each class kept."""

    keep: NDArray[np.bool_]
    """Mask over the training rows."""
    positive_rate: float
    """Kept positives / positives (1.0: all kept)."""
    negative_rate: float
    """Kept negatives / negatives."""


def sample_rows(y: NDArray[Any], max_rows: int, seed: int, *, max_positive_share: float = 0.5) -> RowSample:
    """At most ``max_rows`` rows: positives up to their share of the budget, negatives filling the rest.

    Args:
        y: Binary labels of the training rows.
        max_rows: Row budget (>= 2).
        seed: Sampling seed.
        max_positive_share: Largest share of the budget that positives may take when they are many.

    Returns:
        The mask and the sampling rates of each class.
    """
    y = np.asarray(y)
    positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    rng = np.random.default_rng(seed)
    keep = np.zeros(y.size, dtype=bool)
    n_pos = min(positives.size, max(1, int(max_rows * max_positive_share)))
    n_neg = min(negatives.size, max(max_rows - n_pos, 1))
    keep[positives if n_pos == positives.size else rng.choice(positives, size=n_pos, replace=False)] = True
    keep[negatives if n_neg == negatives.size else rng.choice(negatives, size=n_neg, replace=False)] = True
    return RowSample(
        keep,
        positive_rate=n_pos / positives.size if positives.size else 1.0,
        negative_rate=n_neg / negatives.size if negatives.size else 1.0,
    )
