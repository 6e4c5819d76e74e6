"""``cloudsense-agent simulate`` in-process with the real simulation model (``agent.simulation``)."""

from __future__ import annotations

import json

from agent.__main__ import main


def test_simulate_prints_one_consistent_json_line(tmp_path, threaded_server, capsys):
    argv = ["simulate", "--hosts", "4", "--interval", "0.1", "--duration", "0.6", "--seed", "5"]
    argv += [
        "--server",
        threaded_server.url,
        "--enroll-token",
        "E",
        "--state-dir",
        str(tmp_path),
        "--grace",
        "5",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    result = json.loads(out[0])
    assert list(result) == ["produced", "acked", "spooled", "dropped"]
    assert result["produced"] > 0
    assert result["produced"] == result["acked"] + result["spooled"] + result["dropped"]
    shipped = [r.payload for r in threaded_server.telemetry()]
    assert sum(len(b["samples"]) for b in shipped) == result["acked"]
    assert {b["host_id"] for b in shipped} == {p.name for p in tmp_path.iterdir() if p.is_dir()}
    assert all(b["facts"]["simulated"] for b in shipped if "facts" in b)
