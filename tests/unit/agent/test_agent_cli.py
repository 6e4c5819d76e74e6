"""The ``cloudsense-agent`` command line, in-process (``main(argv)``)."""

from __future__ import annotations

import json

from agent_helpers import store_credential

from agent.__main__ import main
from agent.enroll import CredentialStore
from agent.spool import Spool
from agent.status import AgentStatus, write_status


def make_state(root, host_id="web-1", n=10, acked=3):
    spool = Spool.open(root / "spool")
    for i in range(n):
        spool.append(1.7e9 + i, {"cpu_util": 1.0})
    spool.sync()
    spool.ack(acked)
    spool.dead_letter(spool.read(2), status=400, detail="bad", body=b"{}")
    spool.close()
    status = AgentStatus(
        host_id=host_id,
        epoch=spool.epoch,
        pid=2**22 + 1,
        agent_version="t",
        running=True,
        started_at=1,
        updated_at=1,
    )
    status.shipper.last_success_at = 1.7e9
    status.shipper.auth_failures = 2
    status.stuck_mounts = ["/mnt/nas"]
    write_status(root / "status.json", status)
    store_credential(root, host_id)


def test_status_json_without_a_server(tmp_path, capsys):
    make_state(tmp_path)
    assert main(["status", "--state-dir", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    (host,) = report["hosts"]
    assert host["host_id"] == "web-1" and host["enrolled"]
    assert host["spool"]["unacked_samples"] == 4  # 10 - 4 acked - 2 dead-lettered
    assert host["spool"]["unacked_bytes"] > 0
    assert host["spool"]["dead_letter_total"] == 2
    assert host["last_success_at"] == 1.7e9 and host["auth_failures"] == 2
    assert host["running"] is False  # the pid in the file is not alive
    assert host["stuck_mounts"] == ["/mnt/nas"]


def test_status_human_and_fleet_totals(tmp_path, capsys):
    make_state(tmp_path / "sim-a", "sim-a")
    make_state(tmp_path / "sim-b", "sim-b")
    assert main(["status", "--state-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "host sim-a" in out and "host sim-b" in out
    assert "unacked_samples=8" in out
    assert "stuck mounts: /mnt/nas (not answering; left out of disk_util)" in out


def test_status_of_an_empty_dir_says_so(tmp_path, capsys):
    assert main(["status", "--state-dir", str(tmp_path)]) == 1
    assert "no agent state" in capsys.readouterr().out


def test_enroll_command_stores_the_credential(tmp_path, threaded_server, capsys):
    argv = [
        "enroll",
        "--server",
        threaded_server.url,
        "--token",
        "T",
        "--host-id",
        "web-9",
        "--state-dir",
        str(tmp_path),
    ]
    assert main(argv) == 0
    cred = CredentialStore(tmp_path / "credential.json").load()
    assert cred is not None and cred.host_id == "web-9" and cred.server == threaded_server.url
    assert main(argv) == 2  # already enrolled
    assert "already enrolled" in capsys.readouterr().err


def test_enroll_command_reports_a_refusal(tmp_path, threaded_server, capsys):
    from agent.testserver import Reply

    threaded_server.script.append(Reply(401, {"detail": "token expired"}))
    argv = ["enroll", "--server", threaded_server.url, "--token", "T", "--state-dir", str(tmp_path)]
    assert main(argv) == 1
    assert "token expired" in capsys.readouterr().err
    assert not (tmp_path / "credential.json").exists()


def test_bad_config_is_a_usage_error(tmp_path, capsys):
    cfg = tmp_path / "a.toml"
    cfg.write_text("[agent]\ninterval_seconds = 0\n")
    assert main(["status", "--config", str(cfg)]) == 2
    assert "interval_seconds" in capsys.readouterr().err


def test_run_with_an_unknown_collector_is_a_usage_error(tmp_path, capsys):
    cfg = tmp_path / "a.toml"
    cfg.write_text(
        f'[agent]\nserver_url = "http://127.0.0.1:9"\nhost_id = "h"\nstate_dir = "{tmp_path}"\n'
        'collectors = ["gpu"]\n'
    )
    assert main(["run", "--config", str(cfg)]) == 2
    assert "available: cpu" in capsys.readouterr().err


def test_run_refuses_a_state_dir_in_use(tmp_path, capsys):
    held = Spool.open(tmp_path / "spool")
    cfg = tmp_path / "a.toml"
    cfg.write_text(f'[agent]\nserver_url = "http://127.0.0.1:9"\nhost_id = "h"\nstate_dir = "{tmp_path}"\n')
    try:
        assert main(["run", "--config", str(cfg)]) == 1
    finally:
        held.close()
    assert "in use" in capsys.readouterr().err


def test_status_into_a_closed_pipe_exits_quietly(tmp_path):
    """`cloudsense-agent status | head -1`: the reader leaves early; no traceback, no error exit."""
    import subprocess
    import sys

    for i in range(40):
        make_state(tmp_path / f"sim-{i}", f"sim-{i}")
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "status", "--state-dir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader is gone before the first line
    with proc.stderr:
        stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 0
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr
