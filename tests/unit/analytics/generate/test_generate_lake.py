"""``cloudsense generate``: lake layout, raw telemetry only, deterministic by seed whatever the workers."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from agent.wire import METRIC_NAMES
from analytics.generate.fleet import GenerateSpec, LakeExistsError, generate


def digests(lake: Path) -> dict[str, str]:
    files = sorted((lake / "telemetry").rglob("*.parquet"))
    return {str(f.relative_to(lake)): hashlib.sha256(f.read_bytes()).hexdigest() for f in files}


def test_layout_schema_and_row_count(tmp_path):
    spec = GenerateSpec(out=tmp_path / "lake", hosts=5, days=1.5, interval=300, seed=3, hosts_per_part=2)
    result = generate(spec)

    dates = sorted(p.name for p in (spec.out / "telemetry").iterdir() if p.is_dir())
    assert dates == ["date=2026-03-02", "date=2026-03-03"]
    assert sorted(p.name for p in (spec.out / "telemetry" / dates[0]).iterdir()) == [
        "part-00000.parquet",
        "part-00001.parquet",
        "part-00002.parquet",
    ]
    table = pq.read_table(spec.out / "telemetry")
    assert result.rows == table.num_rows == 5 * 432
    # Raw telemetry only: keys, the agent's identity of each sample, metrics. No label, no hint.
    columns = set(table.column_names) - {"date"}
    assert columns == {"host_id", "timestamp", "epoch", "seq", *METRIC_NAMES}
    rows = table.select(["host_id", "timestamp"]).to_pylist()
    assert len({(r["host_id"], r["timestamp"]) for r in rows}) == len(rows)
    meta = json.loads((spec.out / "telemetry" / "_meta.json").read_text())
    assert meta["rows"] == result.rows and meta["args"]["seed"] == 3


def test_same_arguments_same_bytes_whatever_the_worker_count(tmp_path):
    a = GenerateSpec(out=tmp_path / "a", hosts=4, days=0.5, seed=5, hosts_per_part=2)
    b = GenerateSpec(out=tmp_path / "b", hosts=4, days=0.5, seed=5, hosts_per_part=2)
    generate(a, workers=1)
    generate(b, workers=2)
    assert digests(a.out) == digests(b.out)

    c = GenerateSpec(out=tmp_path / "c", hosts=4, days=0.5, seed=6, hosts_per_part=2)
    generate(c)
    assert digests(c.out) != digests(a.out)


def test_an_existing_lake_is_kept_unless_forced(tmp_path):
    spec = GenerateSpec(out=tmp_path / "lake", hosts=2, days=0.2, seed=1)
    generate(spec)
    before = digests(spec.out)
    with pytest.raises(LakeExistsError, match="--force"):
        generate(GenerateSpec(out=tmp_path / "lake", hosts=2, days=0.2, seed=2))
    assert digests(spec.out) == before
    generate(GenerateSpec(out=tmp_path / "lake", hosts=2, days=0.2, seed=2), force=True)
    assert digests(spec.out) != before
    assert [p.name for p in spec.out.iterdir() if p.name.startswith(".")] == []  # no temporary folder left


def test_cli(tmp_path):
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "cloudsense", "generate", "--out", str(tmp_path / "lake"), *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    first = run("--hosts", "3", "--days", "0.25", "--quiet")
    assert first.returncode == 0, first.stderr
    assert "1,080 rows from 3 hosts" in first.stdout
    again = run("--hosts", "3", "--days", "0.25", "--quiet")
    assert again.returncode != 0
    assert "--force" in again.stderr and "Traceback" not in again.stderr
