"""Baselines on hand-made series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.evaluation.baselines import as_probability, static_threshold_score, trend_score

RESOURCES = ("cpu_util", "mem_util", "disk_util")


def test_static_score_is_the_highest_known_utilisation():
    frame = pd.DataFrame(
        {
            "cpu_util": [10.0, np.nan, np.nan, 120.0],
            "mem_util": [50.0, 30.0, np.nan, 5.0],
        }
    )  # no disk_util column at all
    assert static_threshold_score(frame, RESOURCES).tolist() == [50.0, 30.0, 0.0, 120.0]
    assert as_probability(np.array([50.0, 120.0, -1.0])).tolist() == [0.5, 1.0, 0.0]


def _frame(hosts: dict[str, np.ndarray], step: int = 60) -> pd.DataFrame:
    parts = [
        pd.DataFrame({"host_id": h, "timestamp": np.arange(v.size) * step, "mem_util": v})
        for h, v in hosts.items()
    ]
    return pd.concat(parts, ignore_index=True)


def test_trend_projects_a_line_to_the_horizon():
    ramp = 10.0 + np.arange(60, dtype=float)  # +1 % per minute
    flat = np.full(60, 40.0)
    frame = _frame({"a": ramp, "b": flat})
    score = trend_score(frame, RESOURCES, window_seconds=900, horizon_seconds=1800, step_seconds=60)
    a, b = score[:60], score[60:]
    # from the third point on, the fitted line is exact: value now + 30 min * 1 %/min
    np.testing.assert_allclose(a[2:], ramp[2:] + 30.0)
    np.testing.assert_allclose(b, 40.0)  # host b's window never reaches into host a's ramp


def test_trend_uses_only_the_window():
    # flat at 20 for 30 min, then +2 %/min: a 15-min window sees only the ramp after 15 min of it
    values = np.r_[np.full(30, 20.0), 20.0 + 2.0 * np.arange(1, 31)]
    frame = _frame({"a": values})
    score = trend_score(frame, RESOURCES, window_seconds=900, horizon_seconds=600, step_seconds=60)
    assert score[-1] == pytest.approx(values[-1] + 2.0 * 10)


def test_trend_tolerates_missing_values_and_falls_back_to_latest():
    values = np.array([np.nan, 50.0, np.nan, np.nan, 52.0, 54.0, 56.0])
    frame = _frame({"a": values})
    score = trend_score(frame, RESOURCES, window_seconds=900, horizon_seconds=60, step_seconds=60)
    assert score[0] == 0.0  # nothing known yet
    assert score[1] == pytest.approx(50.0)  # one point: latest value
    # least squares over (1, 50), (4, 52), (5, 54), (6, 56): slope 16/14, mean (4, 53); at x = 6 + 1
    assert score[6] == pytest.approx(53.0 + 3 * 16 / 14)
    assert np.isfinite(score).all()


def test_trend_refuses_unsorted_rows():
    frame = _frame({"a": np.arange(5.0)}).iloc[::-1].reset_index(drop=True)
    with pytest.raises(ValueError, match="sorted"):
        trend_score(frame, RESOURCES, window_seconds=900, horizon_seconds=60, step_seconds=60)
