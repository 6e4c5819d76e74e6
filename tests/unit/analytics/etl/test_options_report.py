"""Step choice, fill limits and the quality report (pure Python)."""

from __future__ import annotations

import json

import pytest

from analytics.etl.options import EtlOptions, choose_step
from analytics.etl.report import DROP_REASONS, QualityReport


@pytest.mark.parametrize(
    ("median", "step"),
    [
        (None, 60),
        (10, 60),
        (59, 60),
        (61, 60),
        (100, 120),
        (170, 180),
        (250, 300),
        (300, 300),
        (610, 600),
        (1000, 900),
        (3600, 3600),
        (7300, 7320),
    ],
)
def test_the_step_is_the_median_interval_snapped_to_a_sensible_multiple_of_60(median, step):
    assert choose_step(median) == step


def test_fill_limit_is_five_minutes_but_at_least_one_step_and_gap_rows_cover_every_window():
    options = EtlOptions()
    assert [options.fill_limit(s) for s in (60, 120, 300, 900)] == [5, 2, 1, 1]
    assert options.gap_rows(60) == 60 and options.gap_rows(300) == 12
    assert EtlOptions(fill_seconds=3600).gap_rows(60) == 61


def test_report_summary_and_json():
    report = QualityReport(input="x.parquet", rows_read=10, rows_kept=7, step_seconds=300, hosts=2)
    report.dropped = dict.fromkeys(DROP_REASONS, 0) | {"duplicate": 2, "future_timestamp": 1}
    report.clipped_above_100 = {"cpu_util": 4, "mem_util": 0}
    report.missing_metrics = ["swap_util"]
    text = report.summary()
    assert "rows read        10" in text and "duplicate=2" in text and "future_timestamp=1" in text
    assert "cpu_util=4" in text and "mem_util=0" not in text and "swap_util" in text
    assert "step             300 s" in text
    data = json.loads(report.to_json())
    assert (
        data["dropped"]["duplicate"] == 2 and data["rows_kept"] == 7 and data["created_at"].endswith("+00:00")
    )
