"""Data quality on injected bad rows: every one is counted under the right reason, the rest is repaired."""

from __future__ import annotations

import pytest

from analytics.etl import EtlOptions, build_feature_frame
from analytics.settings import LabelSettings

pytestmark = pytest.mark.spark

T0 = 1_772_409_600  # 2026-03-02T00:00:00Z
NOW = T0 + 86_400
COLUMNS = ["host_id", "timestamp", "cpu_util", "mem_util", "disk_util", "disk_io", "label", "fault_type"]


def good(k: int, host: str = "a") -> tuple:
    return (host, T0 + 60 * k, 10.0 + k, 50.0 + k, 70.0, 1000.0 * k, 0, "")


def test_bad_rows_are_counted_by_reason_and_repaired(spark):
    nan, inf = float("nan"), float("inf")
    rows = [good(k) for k in range(10)]
    rows += [
        ("a", T0 + 600, nan, inf, 70.0, 9000.0, 0, ""),  # k=10: NaN and inf values made missing
        ("a", T0 + 660, 21.0, 61.0, 70.0, -5.0, 0, ""),  # k=11: negative rate made missing
        ("a", T0 + 780, 23.0, 63.0, 70.0, 13000.0, 0, ""),  # k=13 read before k=12: clock went back 60 s
        ("a", T0 + 720, 130.0, 62.0, 70.0, 12000.0, 1, "cpu"),  # k=12: above 100 %, clipped
        ("a", T0 + 180, 13.0, 53.0, 70.0, 3000.0, 0, ""),  # exact replay of k=3: duplicate
        ("a", T0 + 240, 99.0, 54.0, 70.0, 4000.0, 0, ""),  # conflicting k=4: duplicate, the first row wins
        ("a", T0 + 1200, nan, nan, None, None, 0, ""),  # nothing left: no_metrics
        ("a", NOW + 10 * 86_400, 1.0, 1.0, 1.0, 1.0, 0, ""),  # far future
        ("a", 1_000, 1.0, 1.0, 1.0, 1.0, 0, ""),  # 1970: a unit or clock error
        (None, T0, 1.0, 1.0, 1.0, 1.0, 0, ""),
        ("", T0, 1.0, 1.0, 1.0, 1.0, 0, ""),
        ("a", None, 1.0, 1.0, 1.0, 1.0, 0, ""),
    ]
    rows += [good(k, "b") for k in range(3)]
    raw = spark.createDataFrame(
        rows,
        "host_id string, timestamp long, cpu_util double, mem_util double, "
        "disk_util double, disk_io double, label int, fault_type string",
    )
    featured = build_feature_frame(raw, LabelSettings(), options=EtlOptions(now=NOW), input_name="injected")
    out = {r["timestamp"]: r for r in featured.frame.where("host_id = 'a'").collect()}
    report = featured.complete_report()  # duplicates are counted while the frame is computed

    assert report.rows_read == len(rows)
    assert report.dropped == {
        "missing_key": 3,
        "invalid_timestamp": 1,
        "future_timestamp": 1,
        "no_metrics": 1,
        "duplicate": 2,
    }
    assert report.rows_kept == 14 + 3
    assert report.non_finite_nulled["cpu_util"] == 1 and report.non_finite_nulled["mem_util"] == 1
    assert sum(report.non_finite_nulled.values()) == 2  # the dropped rows' NaNs are not counted
    assert report.negative_nulled == {m: int(m == "disk_io") for m in report.negative_nulled}
    assert report.clipped_above_100 == {"cpu_util": 1, "mem_util": 0, "swap_util": 0, "disk_util": 0}
    assert report.out_of_order_rows == 3  # k=12 and both late duplicates
    assert report.hosts_with_backwards_timestamps == 1
    assert report.max_backwards_seconds == 600  # the late duplicate of k=3 after k=13
    assert set(report.missing_metrics) == {"swap_util", "disk_iops", "network_in", "network_out"} | {
        "active_processes",
        "load1",
        "load5",
        "load15",
    }
    assert report.ignored_columns == ["label", "fault_type"]
    assert report.median_interval_seconds == 60 and report.step_seconds == 60

    assert sorted(out) == [T0 + 60 * k for k in range(14)]
    assert out[T0 + 240]["cpu_util"] == 14.0  # the first row of a duplicated timestamp wins
    assert out[T0 + 720]["cpu_util"] == 100.0  # clipped
    assert out[T0 + 600]["cpu_util"] == 19.0 and out[T0 + 600]["mem_util"] == 59.0  # carried forward
    assert out[T0 + 660]["disk_io"] == 9000.0
    assert out[T0]["swap_util"] is None  # absent from the input: missing (null), never NaN
    assert not any(r["filled"] for r in out.values())


def test_a_lake_is_read_in_file_order_so_only_rows_really_out_of_order_are_counted(spark, tmp_path):
    """Spark reads the largest file first; the ETL's read order is still the files' (by path), then rows."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from analytics.etl.quality import read_input

    def day(n: int, ks: range, extra: list[int] = ()) -> None:  # type: ignore[assignment]
        folder = tmp_path / "lake" / "telemetry" / f"date=2026-03-0{n}"
        folder.mkdir(parents=True)
        stamps = [T0 + 60 * k for k in ks] + [T0 + 60 * k for k in extra]
        table = pa.table(
            {"host_id": ["a"] * len(stamps), "timestamp": stamps, "cpu_util": [10.0] * len(stamps)}
        )
        pq.write_table(table, folder / "part-00000.parquet")

    day(2, range(0, 10))  # small: Spark would read it last
    day(3, range(10, 400), extra=[5])  # large, and it repeats one row of the day before, late
    raw = read_input(spark, str(tmp_path / "lake"))
    featured = build_feature_frame(
        raw, LabelSettings(), options=EtlOptions(now=NOW + 86_400), input_name="lake"
    )
    featured.frame.count()
    report = featured.complete_report()

    assert report.out_of_order_rows == 1
    assert report.max_backwards_seconds == 60 * (399 - 5)
    assert report.dropped["duplicate"] == 1


@pytest.mark.parametrize("dtype", ["long", "double", "string"])
def test_numeric_timestamps_are_read_by_magnitude(spark, dtype):
    from analytics.etl.quality import TIMESTAMP_UNITS, conform

    given = [T0, T0 * 1000 + 999, T0 * 10**6 + 999_999, T0 * 10**9 + 999_999_999, 10**21, None]
    if dtype == "long":  # 10^21 is no long
        given[4] = 10**18 * 9
    if dtype == "double":
        given = [float(v) if v is not None else None for v in given[:3]] + [T0 + 0.75, 1e21, None]
    rows = [("a", None if v is None else (str(v) if dtype == "string" else v)) for v in given]
    raw = spark.createDataFrame(rows, f"host_id string, timestamp {dtype}")
    got = conform(raw)[0].select("timestamp", "_ts_unit").collect()
    seconds = [r["timestamp"] for r in got]
    units = [None if r["_ts_unit"] is None else TIMESTAMP_UNITS[r["_ts_unit"]] for r in got]
    if dtype == "double":  # a fraction of a second is floored; past 10^20 no unit fits (dropped later)
        assert seconds == [T0, T0, T0, T0, 0, None] and units == ["s", "ms", "us", "s", "ns", None]
    else:  # nanoseconds divided exactly, not through a double
        assert seconds[:4] == [T0, T0, T0, T0] and seconds[5] is None
        assert seconds[4] == (9 * 10**9 if dtype == "long" else 0)
        assert units == ["s", "ms", "us", "ns", "ns", None]


def test_text_timestamps_may_be_iso_8601(spark):
    from analytics.etl.quality import conform

    rows = [("a", "2026-03-02T00:00:00Z"), ("a", " 2026-03-02 00:01:00 "), ("a", "yesterday"), ("a", "")]
    got = conform(spark.createDataFrame(rows, "host_id string, timestamp string"))[0].collect()
    assert [r["timestamp"] for r in got] == [T0, T0 + 60, None, None]


@pytest.mark.parametrize(
    ("first_line", "layout"),
    [
        ("host_id,timestamp,cpu_util", (",", True)),
        ('"host_id";"timestamp";"cpu_util"', (";", True)),
        ("Timestamp [ms];\tCPU usage [%];\tMemory usage [KB]", (";", True)),
        ("m_1932,386640,41,92,,,,,43", (",", False)),  # Alibaba machine_usage.csv: data from the first line
        ("0\t0e0d8c\t9.8\t12.1\t10.5", ("\t", False)),  # Azure-like, tab-separated
        ("vm-7|1700000000|55.5", ("|", False)),
        ("", (",", True)),
    ],
)
def test_csv_separator_and_header_are_read_from_the_first_line(tmp_path, first_line, layout):
    import gzip

    from analytics.etl.quality import _csv_layout

    path = tmp_path / "trace.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(first_line + "\n1,2,3\n")
    assert _csv_layout(str(path)) == layout
    (tmp_path / "_ignored.csv").write_text("1;2;3\n")  # Spark skips _ and . files, so does the sniffing
    assert _csv_layout(str(tmp_path)) == layout  # a directory: its first CSV file
