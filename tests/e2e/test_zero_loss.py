"""Zero data loss, end to end, with real processes on loopback and the real Postgres server.

``cloudsense serve`` on a throwaway Postgres database and ``cloudsense-agent simulate --hosts 50``; then
the control plane is stopped and held down, restarted; the agent is SIGKILLed mid-flight and restarted;
the control plane is SIGKILLed during ingest and restarted. At the end every sample the agents ever
numbered is in Postgres exactly once: for each host, the rows of its epoch are exactly seq 0..next_seq-1.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from pg import throwaway_database

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.timeout(600)]

HOSTS = 50


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Real child processes, logs in files, always cleaned up."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs, self.env = logs, env
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", *argv],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=log,
                stdin=subprocess.DEVNULL,
            )
        self.procs.append(proc)
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen[bytes]) -> None:
        proc.kill()
        proc.communicate()

    def cleanup(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            if proc.stdout is not None and not proc.stdout.closed:
                proc.communicate()


def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"control plane at {url} not ready in {timeout} s")


def _stored(db_url: str) -> int:
    async def count() -> int:
        conn = await asyncpg.connect(db_url)
        try:
            return int(await conn.fetchval("SELECT count(*) FROM telemetry"))
        finally:
            await conn.close()

    return asyncio.run(count())


def _wait_stored_grows(db_url: str, beyond: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = _stored(db_url)
        if n > beyond:
            return n
        time.sleep(0.3)
    raise AssertionError(f"no new rows beyond {beyond} in {timeout} s")


def test_no_sample_lost_or_duplicated_across_crashes(tmp_path) -> None:
    state = tmp_path / "fleet"
    with throwaway_database("cloudsense_e2e") as db_url:
        env = dict(os.environ, CLOUDSENSE_DB__URL=db_url, CLOUDSENSE_INGEST__MAX_CONCURRENT="64")
        procs = Processes(tmp_path, env)
        port = _free_port()
        server = f"http://127.0.0.1:{port}"
        serve = ("cloudsense", "serve", "--port", str(port))
        try:
            subprocess.run([sys.executable, "-m", "cloudsense", "db", "upgrade"], env=env, check=True)
            enroll = (
                subprocess.run(
                    [sys.executable, "-m", "cloudsense", "token", "enroll", "--uses", str(HOSTS)],
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
                .stdout.strip()
                .splitlines()[-1]
            )
            cp = procs.start("controlplane", *serve)
            _wait_ready(server)
            simulate = (
                "agent",
                "simulate",
                "--hosts",
                str(HOSTS),
                "--interval",
                "1",
                "--seed",
                "7",
                "--server",
                server,
                "--state-dir",
                str(state),
                "--grace",
                "60",
            )
            agent = procs.start("agent", *simulate, "--enroll-token", enroll)
            seen = _wait_stored_grows(db_url, 5 * HOSTS)

            # 1. The control plane stops and stays down while the agents keep producing into their spools.
            cp.send_signal(signal.SIGTERM)
            cp.communicate(timeout=30)
            assert cp.returncode == 0
            time.sleep(8)
            cp = procs.start("controlplane", *serve)
            _wait_ready(server)
            seen = _wait_stored_grows(db_url, seen)

            # 2. The agent process is SIGKILLed mid-flight, then restarted on the same state dir.
            procs.kill(agent)
            agent = procs.start("agent", *simulate)
            seen = _wait_stored_grows(db_url, seen)

            # 3. The control plane is SIGKILLed while batches are being ingested.
            _wait_stored_grows(db_url, seen)
            procs.kill(cp)
            time.sleep(2)
            cp = procs.start("controlplane", *serve)
            _wait_ready(server)
            seen = _wait_stored_grows(db_url, _stored(db_url))

            # The agent stops producing and drains its spools before it reports.
            agent.send_signal(signal.SIGTERM)
            out, _ = agent.communicate(timeout=120)
            assert agent.returncode == 0
            report = json.loads(out.decode().strip().splitlines()[-1])
            assert report["spooled"] == 0 and report["dropped"] == 0, report
        finally:
            procs.cleanup()

        status = json.loads(
            subprocess.run(
                [sys.executable, "-m", "agent", "status", "--json", "--state-dir", str(state)],
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        assert len(status["hosts"]) == HOSTS
        expected = {h["host_id"]: h["spool"] for h in status["hosts"]}
        for spool in expected.values():
            assert spool["unacked_samples"] == 0
            assert spool["lost_total"] == 0 and spool["dropped_total"] == 0

        async def check() -> None:
            conn = await asyncpg.connect(db_url)
            try:
                dupes = await conn.fetchval(
                    "SELECT count(*) FROM (SELECT 1 FROM telemetry GROUP BY host_id, epoch, seq"
                    " HAVING count(*) > 1) d"
                )
                rows = await conn.fetch(
                    "SELECT host_id, epoch, count(*) AS n, min(seq) AS lo, max(seq) AS hi"
                    " FROM telemetry GROUP BY host_id, epoch"
                )
            finally:
                await conn.close()
            assert dupes == 0
            by_host = {r["host_id"]: r for r in rows}
            assert set(by_host) == set(expected)
            missing = {}
            for host_id, spool in expected.items():
                r = by_host[host_id]
                assert r["epoch"] == spool["epoch"]
                if (r["n"], r["lo"], r["hi"]) != (spool["next_seq"], 0, spool["next_seq"] - 1):
                    missing[host_id] = (dict(r), spool["next_seq"])
            assert not missing, f"hosts with missing samples: {missing}"

        asyncio.run(check())
