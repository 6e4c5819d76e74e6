"""Labels on hand-built series, and against a plain-Python reference on random ones.

Settings: threshold 95 %, minimum duration 180 s, horizon 600 s, step 60 s (a run must last 3 rows).
"""

from __future__ import annotations

import numpy as np
import pytest

from analytics.etl.labels import add_labels, label_columns
from analytics.settings import LabelSettings

pytestmark = pytest.mark.spark

T0 = 1_772_409_600
STEP = 60
SETTINGS = LabelSettings(
    threshold_percent=95, min_duration_seconds=180, horizon_seconds=600, resources=("cpu_util", "mem_util")
)
LOW = 50.0
HIGH = 97.0


def cpu(*runs: tuple[int, int], n: int = 30) -> list[float | None]:
    """A series of ``n`` low rows with high runs at [start, end)."""
    values: list[float | None] = [LOW] * n
    for start, end in runs:
        values[start:end] = [HIGH] * (end - start)
    return values


CASES: dict[str, dict[str, list[float | None]]] = {
    "short_burst": {"cpu_util": cpu((10, 12))},  # 120 s < 180 s: no episode
    "exactly_min": {"cpu_util": cpu((20, 23))},  # 180 s: an episode, onset at row 20
    "at_start": {"cpu_util": cpu((0, 5))},  # already exhausted when the data begins
    "two": {"cpu_util": cpu((8, 12), (16, 20))},
    "missing_breaks": {"cpu_util": [*cpu((10, 12))[:12], None, HIGH, HIGH, *[LOW] * 15]},
    "mem_and_cpu": {"cpu_util": cpu((20, 24)), "mem_util": cpu((15, 25))},
    "at_exactly_100": {"cpu_util": [*[LOW] * 10, 95.0, 95.0, 100.0, *[LOW] * 17]},
}


def frame(spark, cases: dict[str, dict[str, list[float | None]]]):
    rows = []
    for host, series in cases.items():
        n = len(next(iter(series.values())))
        for i in range(n):
            rows.append(
                (
                    host,
                    T0 + STEP * i,
                    series.get("cpu_util", [None] * n)[i],
                    series.get("mem_util", [None] * n)[i],
                )
            )
    return spark.createDataFrame(rows, "host_id string, timestamp long, cpu_util double, mem_util double")


@pytest.fixture(scope="module")
def labelled(spark):
    out = add_labels(frame(spark, CASES), SETTINGS, STEP).toPandas()
    return {h: g.sort_values("timestamp").reset_index(drop=True) for h, g in out.groupby("host_id")}


def rows_where(series, column):
    return [i for i, v in enumerate(series[column]) if v == 1]


def test_columns(labelled):
    assert list(labelled["two"].columns)[-len(label_columns(SETTINGS.resources)) :] == label_columns(
        SETTINGS.resources
    )


def test_a_burst_shorter_than_the_minimum_is_no_episode(labelled):
    s = labelled["short_burst"]
    assert s["exhausted"].sum() == 0 and s["label"].sum() == 0 and s["tte_seconds"].isna().all()


def test_a_run_of_exactly_the_minimum_is_an_episode_and_the_horizon_is_half_open(labelled):
    s = labelled["exactly_min"]
    assert rows_where(s, "exhausted_cpu_util") == [20, 21, 22]
    # onset at row 20 = T0 + 1200: positive for t in [T0 + 600, T0 + 1200), i.e. rows 10..19
    assert rows_where(s, "label_cpu_util") == list(range(10, 20))
    assert s.loc[10, "tte_cpu_util_seconds"] == 600.0  # t + horizon: inclusive
    assert s.loc[19, "tte_cpu_util_seconds"] == 60.0
    assert s.loc[9, "label"] == 0  # onset at t + horizon + step: outside
    assert s.loc[20, "label"] == 0  # the onset row itself: (t, t + h] excludes t


def test_an_episode_at_the_start_has_its_onset_at_the_first_row(labelled):
    s = labelled["at_start"]
    assert rows_where(s, "exhausted") == [0, 1, 2, 3, 4]
    assert s["label"].sum() == 0


def test_two_episodes(labelled):
    s = labelled["two"]
    assert rows_where(s, "exhausted") == [8, 9, 10, 11, 16, 17, 18, 19]
    assert rows_where(s, "label") == list(range(0, 8)) + list(range(8, 16))  # rows 6..15 see the second onset
    assert s.loc[7, "tte_seconds"] == 60.0  # the first onset is the next one
    assert s.loc[12, "tte_seconds"] == 240.0


def test_a_missing_value_never_counts_as_exhausted_and_breaks_a_run(labelled):
    s = labelled["missing_breaks"]
    assert s["exhausted"].sum() == 0  # 2 high, missing, 2 high: no run of 3


def test_overall_label_is_any_resource_and_tte_the_nearest(labelled):
    s = labelled["mem_and_cpu"]
    assert rows_where(s, "exhausted_mem_util") == list(range(15, 25))
    assert rows_where(s, "exhausted") == list(range(15, 25))
    assert s.loc[12, "tte_mem_util_seconds"] == 180.0 and s.loc[12, "tte_cpu_util_seconds"] == 480.0
    assert s.loc[12, "tte_seconds"] == 180.0
    assert rows_where(s, "label") == list(range(5, 15)) + list(range(15, 20))


def test_the_threshold_is_inclusive(labelled):
    assert rows_where(labelled["at_exactly_100"], "exhausted") == [10, 11, 12]


def reference(
    values: list[float | None], present: list[bool]
) -> tuple[list[int], list[int], list[float | None]]:
    """Plain-Python labels of one resource on a grid where ``present[i]`` is False for gap rows."""
    n, rows = len(values), -(-SETTINGS.min_duration_seconds // STEP)
    high = [
        present[i] and values[i] is not None and values[i] >= SETTINGS.threshold_percent for i in range(n)
    ]
    exhausted, onsets, i = [0] * n, [], 0
    while i < n:
        if high[i]:
            j = i
            while j < n and high[j]:
                j += 1
            if j - i >= rows:
                exhausted[i:j] = [1] * (j - i)
                onsets.append(i)
            i = j
        else:
            i += 1
    h = SETTINGS.horizon_seconds // STEP
    tte = [next(((o - t) * STEP for o in onsets if 0 < o - t <= h), None) for t in range(n)]
    return exhausted, [int(x is not None) for x in tte], tte


def test_random_series_match_a_plain_python_reference(spark):
    rng = np.random.default_rng(3)
    cases, truth = {}, {}
    for k in range(6):
        n = 200
        values = np.where(rng.random(n) < 0.5, rng.uniform(94, 100, n), rng.uniform(0, 100, n))
        values = [None if rng.random() < 0.05 else float(v) for v in values]
        cases[f"r{k}"] = {"cpu_util": values}
        truth[f"r{k}"] = reference(values, [True] * n)
    out = add_labels(frame(spark, cases), SETTINGS, STEP).toPandas()
    for host, g in out.groupby("host_id"):
        g = g.sort_values("timestamp")
        exhausted, label, tte = truth[host]
        assert g["exhausted_cpu_util"].tolist() == exhausted
        assert g["label_cpu_util"].tolist() == label
        assert [None if np.isnan(v) else v for v in g["tte_cpu_util_seconds"]] == tte
        assert g["label_mem_util"].sum() == 0  # absent resource: never exhausted
