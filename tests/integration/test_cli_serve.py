"""Real processes: the ``cloudsense`` CLI on SQLite, and ``cloudsense serve`` on Postgres over loopback."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cp_helpers import bearer, make_batch
from pg import throwaway_database_async
from sqlalchemy import func, select, text

from controlplane.db.models import telemetry
from controlplane.db.session import Database
from controlplane.domain.telemetry.partitions import partition_name
from controlplane.settings import DatabaseSettings, SchedulerSettings

pytestmark = pytest.mark.slow


def cli_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSENSE_")}
    env.update(CLOUDSENSE_DB__URL=url, CLOUDSENSE_LOG__JSON_OUTPUT="true", CLOUDSENSE_LOG__LEVEL="WARNING")
    return env


def cloudsense(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cloudsense", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_token_commands_on_the_embedded_database(tmp_path: Path) -> None:
    env = cli_env(f"sqlite:///{tmp_path / 'cli.db'}")
    admin = cloudsense("token", "create", "--role", "admin", "--name", "ops", env=env)
    assert admin.returncode == 0, admin.stderr
    assert admin.stdout.strip().startswith("cs_") and len(admin.stdout.splitlines()) == 1
    enroll = cloudsense("token", "enroll", "--uses", "5", "--ttl-seconds", "600", env=env)
    assert enroll.returncode == 0, enroll.stderr
    assert enroll.stdout.strip().startswith("cse_")

    listing = cloudsense("token", "list", env=env)
    assert listing.returncode == 0
    assert "admin" in listing.stdout and "5/5" in listing.stdout
    assert admin.stdout.strip().split("_", 2)[2] not in listing.stdout, "secrets are never listed"

    token_id = admin.stdout.split("_")[1]
    revoked = cloudsense("token", "revoke", token_id, env=env)
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in cloudsense("token", "list", env=env).stdout

    assert cloudsense("token", "create", "--role", "agent", env=env).returncode == 2, "agent needs --host"
    assert cloudsense("token", "revoke", "0" * 32, env=env).returncode == 1
    current = cloudsense("db", "current", env=env)
    assert current.returncode == 0 and "head" in current.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_healthy(http: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    for _ in range(600):
        if process.returncode is not None:
            raise AssertionError(f"cloudsense serve exited with {process.returncode}")
        try:
            if (await http.get("/health")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("cloudsense serve did not become healthy")


async def _connection_outlives_an_agent_interval(port: int) -> None:
    """An idle keep-alive connection is still open after longer than uvicorn's default 5 s (agents send every
    10 s and should not reconnect, nor renegotiate TLS, every time)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = b"GET /health HTTP/1.1\r\nHost: cloudsense\r\n\r\n"
    try:
        for attempt in range(2):
            writer.write(request)
            await writer.drain()
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert head.startswith(b"HTTP/1.1 200"), (attempt, head)
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            if attempt == 0:
                await asyncio.sleep(6.5)
    finally:
        writer.close()


async def test_serve_process_on_postgres_ingests_over_loopback(tmp_path: Path) -> None:
    async with throwaway_database_async("cloudsense_serve") as url:
        env = cli_env(url)  # not migrated yet: serve upgrades it (db.auto_migrate)
        port = free_port()
        log = (tmp_path / "serve.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cloudsense",
            "serve",
            "--port",
            str(port),
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                await wait_healthy(http, process)
                enrollment = (await asyncio.to_thread(cloudsense, "token", "enroll", env=env)).stdout.strip()
                enrolled = await http.post(
                    "/api/v1/enroll", json={"host_id": "web-1"}, headers=bearer(enrollment)
                )
                assert enrolled.status_code == 201, enrolled.text
                agent = enrolled.json()["token"]

                batch = make_batch("web-1", n=100)
                headers = {**bearer(agent), "Content-Encoding": "gzip", "Content-Type": "application/json"}
                response = await http.post(
                    "/api/v1/telemetry", content=gzip.compress(json.dumps(batch).encode()), headers=headers
                )
                assert response.status_code == 200, response.text
                assert response.json()["accepted"] == 100
                assert (await http.get("/ready")).status_code == 200
                await _connection_outlives_an_agent_interval(port)
                for _ in range(300):  # the embedded scheduler leads and runs partition maintenance at start
                    if "cloudsense_controlplane_scheduler_leader 1.0" in (await http.get("/metrics")).text:
                        break
                    await asyncio.sleep(0.1)
                else:
                    raise AssertionError("the embedded scheduler never became leader")
            database = Database(DatabaseSettings(url=url))
            try:
                async with database.session_scope() as session:
                    assert await session.scalar(select(func.count()).select_from(telemetry)) == 100
                    for _ in range(300):
                        names = set((await session.scalars(text("SELECT relname FROM pg_class"))).all())
                        if (
                            partition_name(
                                __import__("datetime").datetime.now(__import__("datetime").UTC).date()
                            )
                            in names
                        ):
                            break
                        await asyncio.sleep(0.1)
                    else:
                        raise AssertionError("today's partition was never created")
            finally:
                await database.dispose()
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 60)
            log.close()
        assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]


async def _leader_locks(url: str) -> int:
    """Holders of the scheduler's leader lock (a bigint advisory lock: high and low 32 bits, objsubid 1)."""
    key = SchedulerSettings().leader_lock_key
    database = Database(DatabaseSettings(url=url))
    try:
        async with database.session_scope() as session:
            query = text(
                "SELECT count(*) FROM pg_locks l JOIN pg_database d ON l.database = d.oid "
                "WHERE l.locktype = 'advisory' AND d.datname = current_database() AND l.granted "
                "AND l.classid::bigint = :high AND l.objid::bigint = :low AND l.objsubid = 1"
            )
            return int(await session.scalar(query, {"high": key >> 32, "low": key & 0xFFFFFFFF}) or 0)
    finally:
        await database.dispose()


@pytest.mark.parametrize("scheduler", [True, False], ids=["scheduler", "no-scheduler"])
async def test_serve_with_workers_keeps_the_cli_options(tmp_path: Path, scheduler: bool) -> None:
    # Each uvicorn worker builds its app from the environment; --no-scheduler used to be lost on the way.
    async with throwaway_database_async("cloudsense_workers") as url:
        port = free_port()
        args = ["serve", "--port", str(port), "--workers", "2", *([] if scheduler else ["--no-scheduler"])]
        log = (tmp_path / "serve.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cloudsense", *args, env=cli_env(url), stdout=log, stderr=log
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
                await wait_healthy(http, process)
            # The leader holds the advisory lock from its first election, right after start.
            for _ in range(100):
                locks = await _leader_locks(url)
                if locks:
                    break
                await asyncio.sleep(0.1)
            assert locks == (1 if scheduler else 0), (tmp_path / "serve.log").read_text()[-3000:]
        finally:
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 60)
            log.close()
        assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]
