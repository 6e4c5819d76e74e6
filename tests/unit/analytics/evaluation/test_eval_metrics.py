"""Metrics on hand-made cases: every number below is worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analytics.evaluation.metrics import (
    choose_threshold,
    classification_metrics,
    early_alarm_share,
    lead_time_summary,
    lead_times,
)


def test_classification_metrics_by_hand():
    y = np.array([0, 0, 0, 0, 1, 1])
    score = np.array([0.1, 0.2, 0.7, 0.3, 0.6, 0.9])
    m = classification_metrics(y, score, score, threshold=0.5)
    # alarms: rows 2, 4, 5 -> tp = 2, fp = 1, fn = 0
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["recall"] == pytest.approx(1.0)
    assert m["f1"] == pytest.approx(2 * 2 / (3 + 2))
    assert m["alarm_rate"] == pytest.approx(3 / 6)
    # pairs (pos, neg) ranked right: 0.6 beats 0.1, 0.2, 0.3 (not 0.7); 0.9 beats all 4 -> 7 / 8
    assert m["roc_auc"] == pytest.approx(7 / 8)
    # AP: ranks 0.9 (P=1), 0.7 (neg), 0.6 (P=2/3) -> (1 + 2/3) / 2
    assert m["pr_auc"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["brier"] == pytest.approx(np.mean((score - y) ** 2))
    assert (m["rows"], m["positives"], m["note"]) == (6, 2, "")


def test_no_positives_gives_nan_and_a_reason_not_an_error():
    y = np.zeros(5, dtype=int)
    score = np.array([0.1, 0.9, 0.2, 0.3, 0.4])
    m = classification_metrics(y, score, score, threshold=0.5)
    assert math.isnan(m["roc_auc"]) and math.isnan(m["pr_auc"]) and math.isnan(m["recall"])
    assert m["precision"] == 0.0  # one alarm, a false one
    assert m["alarm_rate"] == pytest.approx(0.2)
    assert "no positive rows" in m["note"]


def test_no_alarm_makes_precision_undefined():
    y = np.array([0, 1])
    m = classification_metrics(y, np.array([0.1, 0.2]), np.array([0.1, 0.2]), threshold=0.5)
    assert math.isnan(m["precision"]) and m["recall"] == 0.0 and math.isnan(m["f1"])
    assert "no alarms" in m["note"]


def test_nan_scores_rank_last():
    y = np.array([0, 1, 1])
    m = classification_metrics(y, np.array([0.5, np.nan, 0.9]), np.array([0.5, 0.0, 0.9]), threshold=0.7)
    assert m["roc_auc"] == pytest.approx(0.5)
    assert m["recall"] == pytest.approx(0.5)


def test_choose_threshold_max_f1():
    y = np.array([0, 0, 0, 1, 1, 0, 1])
    score = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.65, 0.8])
    threshold, rule = choose_threshold(y, score, default=0.5)
    # candidates: >=0.4 -> P 3/4 R 1 F1 .857; >=0.6 -> P 2/3 R 2/3; >=0.8 -> P 1 R 1/3
    assert threshold == pytest.approx(0.4)
    assert "F1" in rule


def test_choose_threshold_precision_floor_and_default():
    y = np.array([0, 0, 0, 1, 1, 0, 1])
    score = np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.65, 0.8])
    threshold, rule = choose_threshold(y, score, min_precision=0.9, default=0.5)
    assert threshold == pytest.approx(0.8) and "precision" in rule
    value, rule = choose_threshold(np.zeros(3), np.ones(3), default=0.42)
    assert value == 0.42 and "no positive" in rule


def _host(name: str, n: int, step: int = 60):
    return np.full(n, name), np.arange(n, dtype=np.int64) * step


def test_lead_time_by_hand():
    host, ts = _host("a", 100)
    exhausted = np.zeros(100, dtype=int)
    exhausted[60:65] = 1  # onset at t = 3600
    exhausted[90:95] = 1  # onset at t = 5400, never announced
    alarm = np.zeros(100, dtype=bool)
    alarm[20] = True  # t = 1200: more than 30 min before the first onset, does not count
    alarm[40] = True  # t = 2400: 20 min before the onset -> the first alarm in the window
    alarm[50] = True
    alarm[92] = True  # inside the second episode: not a warning
    episodes = lead_times(host, ts, exhausted, alarm, horizon_seconds=1800)
    assert episodes.onset.tolist() == [3600, 5400]
    assert episodes.lead_minutes[0] == pytest.approx(20.0)
    assert math.isnan(episodes.lead_minutes[1])
    summary = lead_time_summary(episodes)
    assert summary == {"median_lead_time_minutes": 20.0, "episodes_detected": 1, "episodes_total": 2}


def test_lead_time_alarms_of_another_host_do_not_count_and_first_row_episode_is_skipped():
    ha, ta = _host("a", 50)
    hb, tb = _host("b", 50)
    host, ts = np.r_[hb, ha], np.r_[tb, ta]  # unsorted on purpose
    exhausted = np.zeros(100, dtype=int)
    exhausted[50 + 30 : 50 + 33] = 1  # host a: onset at 1800
    exhausted[0:3] = 1  # host b: exhausted from its first row, onset unknown
    alarm = np.zeros(100, dtype=bool)
    alarm[25] = True  # host b at t = 1500 (would be 5 min before a's onset)
    episodes = lead_times(host, ts, exhausted, alarm, horizon_seconds=1800)
    assert episodes.host_id.tolist() == ["a"]
    assert math.isnan(episodes.lead_minutes[0])
    alarm[50 + 29] = True  # host a at t = 1740: one minute ahead
    assert lead_times(host, ts, exhausted, alarm, horizon_seconds=1800).lead_minutes[0] == pytest.approx(1.0)


def test_lead_time_with_no_episode():
    host, ts = _host("a", 10)
    summary = lead_time_summary(lead_times(host, ts, np.zeros(10), np.ones(10, bool), 1800))
    assert summary["episodes_total"] == 0 and math.isnan(summary["median_lead_time_minutes"])


def test_early_alarm_share_by_hand():
    """False alarms up to 60 min before an onset of the same host are early; others are not."""
    ha, ta = _host("a", 100)  # one row a minute
    hb, tb = _host("b", 100)
    host, ts = np.r_[ha, hb], np.r_[ta, tb]
    exhausted = np.zeros(200, dtype=int)
    exhausted[80:85] = 1  # host a: onset at row 80
    label = np.zeros(200, dtype=int)
    label[50:80] = 1  # the 30 rows before it
    alarm = np.zeros(200, dtype=bool)
    alarm[[25, 45, 60]] = True  # a: 55 and 35 min early (false, early), 20 min ahead (true: not counted)
    alarm[[5, 82]] = True  # a: 75 min early (false, not early); inside the episode (not counted)
    alarm[[150]] = True  # b: no onset on b; a's onset does not make it early
    share = early_alarm_share(host, ts, exhausted, label, alarm, horizon_seconds=1800)
    assert share == pytest.approx(2 / 4)
    assert math.isnan(early_alarm_share(host, ts, exhausted, label, np.zeros(200, bool), 1800))


def test_count_onsets_is_the_lead_times_episode_count():
    """a: two episodes; b: one already running at its first row (no known onset), so not counted."""
    from analytics.evaluation.metrics import count_onsets

    host = np.array(["a"] * 6 + ["b"] * 3)
    ts = np.r_[np.arange(6), np.arange(3)] * 60
    exhausted = np.array([0, 1, 1, 0, 1, 1, 1, 1, 0])
    assert count_onsets(host, ts, exhausted) == 2
    assert count_onsets(host, ts, exhausted) == len(
        lead_times(host, ts, exhausted, np.zeros(9, bool), 1800).onset
    )
    assert count_onsets(host[3:], ts[3:], exhausted[3:]) == 1
