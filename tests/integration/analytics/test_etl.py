"""``cloudsense etl`` end to end: the documented layout, atomic replacement, and real fleets' traces.

The real traces (NAB at 300 s, single metric; Nezha pods at 60 s with utilisation above 100 %) live in
../shared/datasets, outside the repository; those tests skip with a clear message where it is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from shared_data import dataset

from analytics.cli import main as analytics_main
from analytics.etl import FEATURE_SET_FILE, QUALITY_REPORT_FILE, run_etl
from analytics.features import FEATURE_NAMES, FEATURE_SET_VERSION, FEATURES
from analytics.settings import Settings

pytestmark = pytest.mark.spark

T0 = 1_772_409_600  # 2026-03-02T00:00:00Z


def small_fleet(path: Path, hosts: int = 3, days: float = 1.2) -> Path:
    """A canonical Parquet file: 60 s telemetry over two dates, a ramp to exhaustion, an extra column."""
    rng = np.random.default_rng(0)
    n = int(days * 1440)
    frames = []
    for h in range(hosts):
        cpu = np.clip(rng.normal(40, 10, n), 0, 100)
        cpu[n // 2 : n // 2 + 40] = np.linspace(50, 100, 40)
        frames.append(
            pa.table(
                {
                    "host_id": [f"web-{h}"] * n,
                    "timestamp": T0 + 60 * np.arange(n, dtype=np.int64),
                    "cpu_util": cpu,
                    "mem_util": np.clip(rng.normal(60, 5, n), 0, 100),
                    "disk_util": np.linspace(50, 60, n),
                    "network_in": rng.uniform(0, 1e6, n),
                    "network_out": rng.uniform(0, 1e6, n),
                    "load1": rng.uniform(0, 4, n),
                    "note": ["x"] * n,
                }
            )
        )
    pq.write_table(pa.concat_tables(frames), path)
    return path


def read_output(root: Path) -> pa.Table:
    import pyarrow.dataset as ds

    return ds.dataset(str(root / "data"), format="parquet", partitioning="hive").to_table()


def test_cli_writes_the_documented_layout(spark, tmp_path, capsys):
    source = small_fleet(tmp_path / "fleet.parquet")
    out = tmp_path / "features"
    assert analytics_main(["etl", "--input", str(source), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rows read        5,184" in printed and "step             60 s (auto" in printed

    dates = sorted(p.name for p in (out / "data").iterdir() if p.is_dir())
    assert dates == ["date=2026-03-02", "date=2026-03-03"]
    spec = json.loads((out / FEATURE_SET_FILE).read_text())
    assert spec["feature_set_version"] == FEATURE_SET_VERSION and spec["feature_names"] == list(FEATURE_NAMES)
    assert spec["step_seconds"] == 60 and spec["label"]["horizon_seconds"] == 1800 and spec["rows"] == 5184
    assert spec["input"] == str(source) and spec["created_at"]
    report = json.loads((out / QUALITY_REPORT_FILE).read_text())
    assert report["rows_read"] == report["output_rows"] == 5184 and report["ignored_columns"] == ["note"]

    table = read_output(out)
    columns = table.column_names
    assert columns[:3] == ["host_id", "timestamp", "filled"]
    assert columns[3 : 3 + len(FEATURE_NAMES)] == list(FEATURE_NAMES)
    assert {"label", "exhausted", "tte_seconds", "label_cpu_util", "tte_disk_util_seconds", "date"} <= set(
        columns
    )
    frame = table.to_pandas()
    assert frame["exhausted_cpu_util"].sum() > 0 and frame["label_cpu_util"].sum() > 0
    # a label's rate is among its onset rows (where it is read); an exhausted flag's among all rows
    for suffix in ("", "_cpu_util"):
        onset = frame[f"exhausted{suffix}"] == 0
        rate = frame.loc[onset, f"label{suffix}"].mean()
        assert report["label_rates"][f"label{suffix}"] == pytest.approx(rate, abs=1e-6)
        exhausted = frame[f"exhausted{suffix}"].mean()
        assert report["label_rates"][f"exhausted{suffix}"] == pytest.approx(exhausted, abs=1e-6)
    assert frame.groupby("host_id")["timestamp"].apply(lambda s: s.is_unique).all()

    # a second run replaces the output atomically; nothing is left beside it
    assert analytics_main(["etl", "--input", str(source), "--output", str(out), "--step", "120"]) == 0
    assert json.loads((out / FEATURE_SET_FILE).read_text())["step_seconds"] == 120
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features", "fleet.parquet"]


def test_unusable_input_is_a_clear_error_and_leaves_nothing(spark, tmp_path, capsys):
    out = tmp_path / "features"
    assert analytics_main(["etl", "--input", str(tmp_path / "absent"), "--output", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err
    pq.write_table(pa.table({"ts": [1, 2], "cpu_util": [1.0, 2.0]}), tmp_path / "nohost.parquet")
    assert analytics_main(["etl", "--input", str(tmp_path / "nohost.parquet"), "--output", str(out)]) == 2
    assert "host_id" in capsys.readouterr().err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["nohost.parquet"]


def test_no_usable_row_or_no_telemetry_file_is_a_clear_error(spark, tmp_path, capsys):
    out = tmp_path / "features"
    source = tmp_path / "fleet.parquet"
    table = pq.read_table(small_fleet(source, hosts=1, days=0.1))
    # 1990 in seconds: every row is dropped, and the error says why and what a timestamp must be
    idx = table.column_names.index("timestamp")
    pq.write_table(table.set_column(idx, "timestamp", pa.compute.subtract(table["timestamp"], 10**9)), source)
    assert analytics_main(["etl", "--input", str(source), "--output", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no usable rows" in err and "invalid_timestamp=144" in err and "epoch seconds, milliseconds" in err
    # valid keys, no metric value: found only when the main job has run, and still nothing is written
    nothing = pa.table({"host_id": ["a"] * 3, "timestamp": [T0, T0 + 60, T0 + 120], "cpu_util": [None] * 3})
    pq.write_table(nothing, source)
    assert analytics_main(["etl", "--input", str(source), "--output", str(out)]) == 2
    assert "all 3 rows were dropped (no_metrics=3)" in capsys.readouterr().err
    junk = tmp_path / "fleet.bin"
    junk.write_bytes(b"\x00garbage" * 100)
    assert analytics_main(["etl", "--input", str(junk), "--output", str(out)]) == 2
    assert "is not a Parquet file" in capsys.readouterr().err
    assert not out.exists()


def _as_units(source: Path, tmp_path: Path) -> dict[str, Path]:
    """The same telemetry as real fleets' exports spell it: other timestamp units, types and formats."""
    import pandas as pd

    frame = pd.read_parquet(source)
    seconds = frame["timestamp"]
    variants = {
        "ms": frame.assign(timestamp=seconds * 1000),
        "us_float": frame.assign(timestamp=seconds.astype(float) * 1e6),
        "ns_datetime": frame.assign(timestamp=pd.to_datetime(seconds, unit="s")),  # TIMESTAMP(NANOS)
    }
    paths = {}
    for name, variant in variants.items():
        paths[name] = tmp_path / f"{name}.parquet"
        variant.to_parquet(paths[name], index=False)
    # CSV: ISO-8601 times, an unparsable value and an empty field (both: missing), a header row
    text = frame.assign(timestamp=pd.to_datetime(seconds, unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    text = text.astype({"load1": object})
    text.loc[5, "load1"], text.loc[6, "load1"] = "n/a", None
    paths["csv_iso"] = tmp_path / "iso.csv"
    text.to_csv(paths["csv_iso"], index=False)
    return paths


def test_timestamps_in_any_unit_type_or_text_and_csv_give_the_same_features(spark, tmp_path):
    import pandas as pd

    source = small_fleet(tmp_path / "fleet.parquet", hosts=2, days=0.3)
    expected_report = run_etl(spark, source, tmp_path / "seconds", Settings())
    assert expected_report.timestamp_units == {} and expected_report.warnings == []
    columns = ["host_id", "timestamp", *FEATURE_NAMES, "label"]
    expected = read_output(tmp_path / "seconds").to_pandas()[columns]
    expected = expected.sort_values(["host_id", "timestamp"]).reset_index(drop=True)
    for name, path in _as_units(source, tmp_path).items():
        report = run_etl(spark, path, tmp_path / name, Settings())
        assert report.rows_read == report.output_rows == expected_report.rows_read, name
        unit = {"ms": "ms", "us_float": "us", "ns_datetime": "ns"}.get(name)
        assert report.timestamp_units == ({unit: report.rows_read} if unit else {}), name
        got = read_output(tmp_path / name).to_pandas()[columns]
        got = got.sort_values(["host_id", "timestamp"]).reset_index(drop=True)
        want = expected.copy()
        if name == "csv_iso":  # the two load1 values made missing are carried forward from the row before
            assert got.loc[[5, 6], "load1"].tolist() == [want.loc[4, "load1"]] * 2
            reads_load1 = [f.name for f in FEATURES if "load1" in f.inputs]
            want.loc[[5, 6], reads_load1] = got.loc[[5, 6], reads_load1]
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9, atol=1e-9, obj=name)


def test_columns_are_derived_from_a_trace_s_own_names_and_units(spark, tmp_path, capsys):
    import pandas as pd

    source = small_fleet(tmp_path / "fleet.parquet", hosts=2, days=0.2)
    expected = run_etl(spark, source, tmp_path / "canonical", Settings())
    frame = pd.read_parquet(source)
    trace = frame.rename(columns={"host_id": "machine_id", "timestamp": "time_stamp"})
    trace["mem_used_kb"], trace["mem_total_kb"] = trace.pop("mem_util") * 1000, 100_000.0
    # Bitbrains-like: semicolons, a tab after each, header names with spaces
    trace = trace.rename(columns={"mem_used_kb": "Memory usage [KB]"})
    text = trace.to_csv(index=False, sep=";").replace(";", ";\t")
    (tmp_path / "trace.csv").write_text(text)
    out = tmp_path / "derived"
    args = ["etl", "--input", str(tmp_path / "trace.csv"), "--output", str(out)]
    args += ["--column", "host_id=machine_id", "--column", "timestamp=time_stamp"]
    args += ["--column", "mem_util = 100 * `Memory usage [KB]` / mem_total_kb"]
    assert analytics_main(args) == 0
    assert "column           mem_util = 100 * `Memory usage [KB]` / mem_total_kb" in capsys.readouterr().out
    report = json.loads((out / QUALITY_REPORT_FILE).read_text())
    assert report["output_rows"] == expected.output_rows and report["warnings"] == []
    assert report["derived_columns"]["host_id"] == "machine_id"
    got, want = read_output(out).to_pandas(), read_output(tmp_path / "canonical").to_pandas()
    got, want = (f.sort_values(["host_id", "timestamp"]).reset_index(drop=True) for f in (got, want))
    np.testing.assert_allclose(got["mem_util_mean_60m"], want["mem_util_mean_60m"], rtol=1e-9)
    # a bad expression is refused before any work, naming the option and the input's columns
    bad = ["--column", "mem_util=100 * mem_used / mem_total_kb"]
    assert analytics_main([*args[:5], "--column", "host_id=machine_id", *bad]) == 2
    err = capsys.readouterr().err
    assert "--column mem_util=100 * mem_used / mem_total_kb" in err and "Memory usage [KB]" in err
    with pytest.raises(SystemExit) as usage:  # argparse: a usage error
        analytics_main([*args[:5], "--column", "no equals sign"])
    assert usage.value.code == 2 and "expected NAME=EXPRESSION" in capsys.readouterr().err


def test_a_headerless_trace_with_offset_timestamps_is_mapped_by_column_number(spark, tmp_path, capsys):
    """Alibaba's machine_usage.csv: no header row, seconds since the trace's start, empty fields."""
    import pandas as pd

    source = small_fleet(tmp_path / "fleet.parquet", hosts=2, days=0.2)
    expected = run_etl(spark, source, tmp_path / "canonical", Settings())
    frame = pd.read_parquet(source)
    trace = pd.DataFrame(
        {
            "machine_id": frame["host_id"].str.replace("web-", "m_"),
            "time_stamp": frame["timestamp"] - T0,
            "cpu_util_percent": frame["cpu_util"].round(6),
            "mem_util_percent": frame["mem_util"].round(6),
            "mem_gps": None,
        }
    )
    path = tmp_path / "machine_usage.csv"
    trace.to_csv(path, index=False, header=False)
    out = tmp_path / "features"
    base = ["etl", "--input", str(path), "--output", str(out)]
    assert analytics_main(base) == 2  # unmapped: the columns are numbered, and the error says so
    err = capsys.readouterr().err
    assert (
        "['_c0', '_c1', '_c2', '_c3', '_c4']" in err
        and "no header row" in err
        and "--column host_id=_c0" in err
    )
    # keys mapped, timestamps left as offsets: every row dropped, and the error points at the offsets
    keys = ["--column", "host_id=_c0", "--column", "timestamp=_c1"]
    assert analytics_main([*base, *keys, "--column", "cpu_util=_c2"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    last = int(trace["time_stamp"].max())
    assert f"These run from 0 to {last:,}: offsets from the start of the trace" in err
    assert "--column 'timestamp=timestamp + 1700000000'" in err
    # placed on the calendar: the same features as the canonical file's (cpu and memory)
    mapped = ["--column", "host_id=_c0", "--column", f"timestamp=_c1 + {T0}"]
    mapped += ["--column", "cpu_util=_c2", "--column", "mem_util=_c3"]
    assert analytics_main([*base, *mapped]) == 0
    report = json.loads((out / QUALITY_REPORT_FILE).read_text())
    assert report["output_rows"] == expected.output_rows and report["dropped_timestamps"] is None
    got, want = read_output(out).to_pandas(), read_output(tmp_path / "canonical").to_pandas()
    got, want = (f.sort_values(["host_id", "timestamp"]).reset_index(drop=True) for f in (got, want))
    for feature in ("cpu_util_mean_60m", "cpu_util_slope_15m", "mem_util_max_60m", "hour_sin"):
        np.testing.assert_allclose(got[feature], want[feature], rtol=1e-6, atol=1e-6, err_msg=feature)


def test_sample_hosts_featurises_a_seeded_sample_of_whole_hosts(spark, tmp_path, capsys):
    """--sample-hosts N: N hosts in the same seeded order as the loader's sample, each host whole."""
    from analytics.sampling import ranked_hosts

    source = small_fleet(tmp_path / "fleet.parquet", hosts=4, days=0.2)
    whole = run_etl(spark, source, tmp_path / "whole", Settings())
    out = tmp_path / "sampled"
    args = ["etl", "--input", str(source), "--output", str(out), "--sample-hosts", "2"]
    assert analytics_main(args) == 0
    assert "sampled hosts    2 of 4 (seed 0); the counts below are theirs" in capsys.readouterr().out
    report = json.loads((out / QUALITY_REPORT_FILE).read_text())
    quarter = whole.rows_read // 4
    assert report["sampled_hosts"] == {
        "hosts": 2,
        "of_hosts": 4,
        "rows": 2 * quarter,
        "of_rows": 4 * quarter,
        "seed": 0,
        "max_hosts": 2,
        "max_rows": None,
        "automatic": False,
    }
    assert report["rows_read"] == whole.rows_read // 2 and report["output_rows"] == whole.output_rows // 2
    hosts = set(read_output(out).column("host_id").to_pylist())
    assert hosts == set(ranked_hosts([f"web-{h}" for h in range(4)], seed=0)[:2])
    # as many hosts as there are, or more: no sample
    assert analytics_main([*args[:-1], "4"]) == 0
    assert "sampled hosts" not in capsys.readouterr().out
    assert json.loads((out / QUALITY_REPORT_FILE).read_text())["sampled_hosts"] is None
    with pytest.raises(SystemExit) as usage:
        analytics_main([*args[:-1], "0"])
    assert usage.value.code == 2 and "expected a number of hosts (1 or more)" in capsys.readouterr().err


def test_a_row_budget_keeps_the_longest_prefix_of_the_same_order(spark, tmp_path):
    """EtlOptions.max_rows (evaluate and backtest set it to what their loader can hold): whole hosts, in the
    seeded order, as many as fit; with --sample-hosts too, the tighter limit wins."""
    from analytics.etl import EtlOptions
    from analytics.sampling import ranked_hosts

    source = small_fleet(tmp_path / "fleet.parquet", hosts=4, days=0.2)
    per_host = int(0.2 * 1440)  # rows of each host
    order = ranked_hosts([f"web-{h}" for h in range(4)], seed=5)
    options = EtlOptions(max_rows=3 * per_host - 1, sample_seed=5)  # room for two hosts and a bit
    report = run_etl(spark, source, tmp_path / "budget", Settings(), options=options)
    assert report.sampled_hosts is not None
    assert (report.sampled_hosts["hosts"], report.sampled_hosts["rows"]) == (2, 2 * per_host)
    assert set(read_output(tmp_path / "budget").column("host_id").to_pylist()) == set(order[:2])
    line = (
        f"sampled hosts    2 of 4 (seed 5; {2 * per_host:,} of {4 * per_host:,} input rows, within --max-rows"
    )
    assert line in report.summary()
    tighter = EtlOptions(max_rows=3 * per_host - 1, sample_hosts=1, sample_seed=5)
    report = run_etl(spark, source, tmp_path / "both", Settings(), options=tighter)
    assert report.sampled_hosts is not None and report.sampled_hosts["hosts"] == 1
    assert "sampled hosts    1 of 4 (seed 5); the counts below are theirs" in report.summary()
    # a budget smaller than any host keeps one whole host; a budget that holds them all samples nothing
    report = run_etl(
        spark, source, tmp_path / "one", Settings(), options=EtlOptions(max_rows=1, sample_seed=5)
    )
    assert set(read_output(tmp_path / "one").column("host_id").to_pylist()) == {order[0]}
    report = run_etl(spark, source, tmp_path / "all", Settings(), options=EtlOptions(max_rows=4 * per_host))
    assert report.sampled_hosts is None


def test_stored_rows_come_from_parquet_footers_and_only_from_them(spark, tmp_path):
    """What lets a row budget that holds the whole input skip the job that counts each host's rows."""
    import pandas as pd

    from analytics.etl.quality import read_input, stored_rows

    source = small_fleet(tmp_path / "fleet.parquet", hosts=3, days=0.2)
    frame = pd.read_parquet(source)
    assert stored_rows(read_input(spark, str(source))) == len(frame)
    lake = tmp_path / "lake" / "telemetry"
    for day, part in enumerate((frame.iloc[:100], frame.iloc[100:])):
        (lake / f"date=2026-03-0{day + 1}").mkdir(parents=True)
        part.to_parquet(lake / f"date=2026-03-0{day + 1}" / "part 0.parquet")  # a space: a quoted URI
    assert stored_rows(read_input(spark, str(tmp_path / "lake"))) == len(frame)
    frame.to_csv(tmp_path / "fleet.csv", index=False)
    assert stored_rows(read_input(spark, str(tmp_path / "fleet.csv"))) is None  # CSV has no footer
    assert stored_rows(spark.createDataFrame(frame.head(3))) is None  # not a file scan
    # a budget that holds every stored row runs no count job; one that does not, does
    from analytics.etl import EtlOptions

    for budget, counted in ((len(frame), False), (len(frame) - 1, True)):
        phases: list[str] = []
        out, options = tmp_path / f"out-{budget}", EtlOptions(max_rows=budget)
        run_etl(spark, source, out, Settings(), options=options, on_phase=phases.append)
        assert ("counting each host's rows" in phases) is counted, phases
        assert phases[0] == "reading the input" and "data-quality profile" in phases


def test_utilisation_in_another_unit_than_percent_is_warned_about(spark, tmp_path):
    import pandas as pd

    frame = pd.read_parquet(small_fleet(tmp_path / "fleet.parquet", hosts=1, days=0.2))
    for r in ("cpu_util", "mem_util", "disk_util"):
        frame[r] = frame[r] / 100
    frame.to_parquet(tmp_path / "fractions.parquet", index=False)
    report = run_etl(spark, tmp_path / "fractions.parquet", tmp_path / "features", Settings())
    assert report.label_rates["label"] == 0.0
    (warning,) = report.warnings
    assert (
        warning.startswith("cpu_util (largest 1), mem_util (largest 0.") and "multiply them by 100" in warning
    )
    assert "WARNING          cpu_util" in report.summary()
    in_megabytes = frame.assign(mem_util=frame["mem_util"] * 1e5)  # memory used in MB, say
    in_megabytes.to_parquet(tmp_path / "megabytes.parquet", index=False)
    report = run_etl(spark, tmp_path / "megabytes.parquet", tmp_path / "features", Settings())
    assert any(
        w.startswith(f"mem_util is above 100 in {len(frame):,} of {len(frame):,} rows")
        for w in report.warnings
    )
    only_network = frame[["host_id", "timestamp", "network_in"]]
    only_network.to_parquet(tmp_path / "network.parquet", index=False)
    report = run_etl(spark, tmp_path / "network.parquet", tmp_path / "features", Settings())
    assert report.warnings == [
        "the input has none of the labelled resources (cpu_util, mem_util, disk_util): no row can be "
        "labelled, so nothing can be trained or scored"
    ]


def test_a_failed_run_keeps_the_previous_output(spark, tmp_path, monkeypatch):
    import analytics.etl.pipeline as pipeline

    source = small_fleet(tmp_path / "fleet.parquet", hosts=1, days=0.2)
    out = tmp_path / "features"
    run_etl(spark, source, out, Settings())
    before = sorted(p.relative_to(out) for p in out.rglob("*"))

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pipeline, "_record_output", broken)
    with pytest.raises(OSError, match="disk full"):
        run_etl(spark, source, out, Settings())
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features", "fleet.parquet"]


def test_a_lake_is_read_from_its_telemetry_folder(spark, tmp_path):
    lake = tmp_path / "lake" / "telemetry"
    table = pq.read_table(small_fleet(tmp_path / "fleet.parquet", hosts=2, days=1.2))
    days = pa.compute.strftime(pa.compute.cast(table["timestamp"], pa.timestamp("s")), format="%Y-%m-%d")
    table = table.append_column("date", days).append_column("epoch", pa.array([7] * len(table)))
    pq.write_to_dataset(
        table.append_column("seq", pa.array(range(len(table)))), lake, partition_cols=["date"]
    )
    report = run_etl(spark, tmp_path / "lake", tmp_path / "features", Settings())
    assert report.rows_read == report.output_rows == len(table) and report.hosts == 2
    assert {"epoch", "seq", "date", "note"} <= set(report.ignored_columns)


def sample(name: str, hosts: int, tmp_path: Path, by: str | None = None) -> Path:
    """The first ``hosts`` series of a dataset (with ``by``: the first series of each value of ``by``)."""
    table = pq.read_table(dataset(name))
    ids = [str(h) for h in table.column("host_id").to_pylist()]
    if by is None:
        keep = sorted(set(ids))[:hosts]
    else:
        first = {}
        for host, group in zip(ids, table.column(by).to_pylist(), strict=True):
            first.setdefault(group, host)
        keep = sorted(first.values())[:hosts]
    mask = pa.compute.is_in(pa.compute.cast(table["host_id"], pa.string()), pa.array(keep))
    out = tmp_path / name
    pq.write_table(table.filter(mask), out)
    return out


def test_nab_sample_300_seconds_single_metric(spark, tmp_path):
    report = run_etl(
        spark,
        sample("nab_cloud_labeled.parquet", 6, tmp_path, by="metric"),
        tmp_path / "features",
        Settings(),
    )
    assert report.step_seconds == 300 and report.output_rows > 0 and report.hosts >= 1
    assert {"label", "anomaly_point", "label_anomaly_next_30m", "metric", "value"} <= set(
        report.ignored_columns
    )
    assert "mem_util" in report.missing_metrics and report.null_rates["mem_util"] == 1.0
    assert report.dropped["no_metrics"] > 0  # series whose only metric is none of ours (request counts)
    table = read_output(tmp_path / "features")
    assert table.num_rows == report.output_rows and "cpu_util_slope_60m" in table.column_names


def test_nezha_sample_60_seconds_above_100_percent(spark, tmp_path):
    report = run_etl(
        spark, sample("nezha_pods_faults.parquet", 12, tmp_path), tmp_path / "features", Settings()
    )
    assert report.step_seconds == 60 and report.median_interval_seconds == 60
    assert report.output_rows >= 0.95 * report.rows_kept
    assert "disk_util" in report.missing_metrics and "fault_type" in report.ignored_columns
    frame = read_output(tmp_path / "features").to_pandas()
    assert frame["mem_util"].max() <= 100.0
    assert sum(report.clipped_above_100.values()) == 0 or frame["mem_util"].max() == 100.0


def test_evaluate_gives_the_spark_jvm_back_before_it_loads_the_rows(tmp_path):
    """In its own process (as `cloudsense evaluate` and `backtest` run), featurising stops the JVM that it
    started once the ETL is done: the rows loaded and trained on next get its memory."""
    import subprocess
    import sys

    source = small_fleet(tmp_path / "fleet.parquet", hosts=2, days=0.2)
    script = """
import sys
from pathlib import Path

import psutil

from analytics.evaluation.featurize import featurize
from analytics.settings import Settings

settings = Settings(data_dir=Path(sys.argv[2]) / "state", spark={"master": "local[1]"})
featured = featurize(Path(sys.argv[1]), settings, Path(sys.argv[2]))
print(len(featured.data.frame), sorted(p.name() for p in psutil.Process().children(recursive=True)))
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(source), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == [f"{2 * int(0.2 * 1440)}", "[]"]  # every row loaded, no JVM left
