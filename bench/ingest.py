"""Benchmark: end-to-end ingest (agents -> HTTP -> ``cloudsense serve`` -> Postgres) beside raw COPY.

    .venv/bin/python bench/ingest.py                       # 1M samples, 16 agents, 1000-sample batches
    .venv/bin/python bench/ingest.py --samples 200000 --workers 2

What runs, all on this machine and in this one run:

1. The samples are made up front by the simulation model (``agent.simulation``): ``--agents`` simulated
   hosts, each with a backlog of ``samples / agents`` samples (one per second, ending now), cut into
   ``--batch``-sample wire batches (``agent.wire``), JSON + gzip as the agent sends them.
2. A throwaway database on the Postgres server (``BENCH_ADMIN_URL``, default 127.0.0.1:5432) is
   migrated, its daily partitions created, and one agent credential issued per host. The server's
   durability settings (fsync, synchronous_commit) are printed: they must be on.
3. Reference: asyncpg ``copy_records_to_table`` of the very same rows (decoded from the same bodies)
   into a table of the same shape (``LIKE telemetry INCLUDING ALL``), one committed transaction per
   batch, one connection. It runs before and after the HTTP run (the machine is shared: the mean of
   the two is the reference, both are printed).
4. ``cloudsense serve`` (``--workers``) on that database, and ``--clients`` load-generator processes
   (httpx, one connection per agent, bearer token, gzip body, retries on 429/5xx like the agent) that
   post every batch. Rate = samples / (last answer - first request), latency per batch as the client
   sees it.
5. The table then holds exactly the samples sent: the row count and the distinct
   ``(host_id, epoch, seq)`` count are checked, per host too.

Goal (issue 2): HTTP rate / COPY rate >= 0.20 on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _common
import _ingest_load as load

GOAL_RATIO = 0.20
# cProfile on CPU time (not wall time: on a shared machine, wall time mostly measures waiting for a core).
_PROFILED_SERVE = """
import cProfile, sys, time
from controlplane.cli import main
out, argv = sys.argv[1], sys.argv[2:]
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    main(argv)
finally:
    profile.disable()
    profile.dump_stats(out)
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=1_000_000, help="samples in all (default 1M)")
    parser.add_argument("--agents", type=int, default=16, help="concurrent simulated agents (default 16)")
    parser.add_argument("--batch", type=int, default=1000, help="samples per batch (default 1000)")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of cloudsense serve")
    parser.add_argument("--clients", type=int, default=2, help="load-generator processes (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="fleet seed (default 0)")
    parser.add_argument(
        "--max-concurrent",
        type=int,
        default=None,
        help="CLOUDSENSE_INGEST__MAX_CONCURRENT per worker (default: --agents, so no 429)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database and the work dir")
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        metavar="OUT.prof",
        help="run the control plane (1 worker) under cProfile with a CPU-time clock; pstats to OUT.prof",
    )
    return parser


async def _provision(db_url: str, agents: list[load.AgentPlan]) -> dict[str, str]:
    """Partitions, the reference table, and one agent token per host."""
    from controlplane.db.session import Database
    from controlplane.domain.telemetry.partitions import maintain
    from controlplane.log import configure_logging
    from controlplane.provision import create_api_token
    from controlplane.settings import DatabaseSettings, LogSettings

    configure_logging(LogSettings(level="WARNING"))
    database = Database(DatabaseSettings(url=db_url))
    try:
        async with database.session_scope() as session:
            await maintain(session, retention_days=30, ahead_days=3)
        async with database.engine.begin() as connection:
            await connection.exec_driver_sql(f"CREATE TABLE {load.REF_TABLE} (LIKE telemetry INCLUDING ALL)")
        tokens = {}
        for plan in agents:
            issued = await create_api_token(database, "agent", host_id=plan.host_id, name="bench")
            tokens[plan.host_id] = issued.token
        return tokens
    finally:
        await database.dispose()


async def _server_settings(db_url: str) -> dict[str, str]:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(db_url)
    try:
        names = ("fsync", "synchronous_commit", "full_page_writes", "shared_buffers", "server_version")
        return {n: str(await connection.fetchval(f"SHOW {n}")) for n in names}
    finally:
        await connection.close()


def _run_http(
    args: argparse.Namespace, work: Path, db_url: str, agents: list[load.AgentPlan]
) -> tuple[load.HttpResult, float, float]:
    """Serve, load, stop: the clients' result, and the CPU seconds the control plane (all workers) and
    the Postgres backends of the database spent while the load ran."""
    port = _common.free_port()
    env = dict(
        os.environ,
        CLOUDSENSE_DB__URL=db_url,
        CLOUDSENSE_INGEST__MAX_CONCURRENT=str(args.max_concurrent or max(8, args.agents)),
        CLOUDSENSE_DB__POOL_SIZE=str(max(10, args.agents)),
    )
    procs = _common.Processes(work, env)
    try:
        serve_args = ["serve", "--port", str(port), "--no-scheduler"]
        serve_args += ["--workers", str(args.workers)] if args.workers > 1 else []
        if args.profile:
            serve = procs.start(
                "serve", [sys.executable, "-c", _PROFILED_SERVE, str(args.profile), *serve_args]
            )
        else:
            serve = procs.start("serve", [sys.executable, "-m", "cloudsense", *serve_args])
        _common.wait_http_ok(f"http://127.0.0.1:{port}/ready", proc=serve)
        clients = []
        for index in range(args.clients):
            mine = [a for i, a in enumerate(agents) if i % args.clients == index]
            if not mine:
                continue
            spec = load.ClientSpec(server=f"http://127.0.0.1:{port}", agents=mine)
            spec_file = work / f"client{index}.json"
            spec_file.write_bytes(load.encode_spec(spec))
            clients.append(
                procs.start(
                    f"client{index}",
                    [sys.executable, str(Path(__file__).with_name("_ingest_load.py")), str(spec_file)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                )
            )
        for client in clients:  # each loads its bodies, then says "ready"
            assert client.stdout is not None
            if client.stdout.readline().strip() != b"ready":
                raise RuntimeError(f"load generator failed; see {work}/client*.log")
        database = db_url.rsplit("/", 1)[1]
        cpu_before = _common.tree_cpu_seconds(serve.pid)
        pg_before = _common.postgres_cpu_seconds(database)
        for client in clients:
            assert client.stdin is not None
            client.stdin.write(b"go\n")
            client.stdin.flush()
        results = []
        for client in clients:
            out, _ = client.communicate()
            if client.returncode != 0:
                raise RuntimeError(f"load generator exited {client.returncode}; see {work}/client*.log")
            results.append(load.decode_result(out.strip().splitlines()[-1]))
        server_cpu = _common.tree_cpu_seconds(serve.pid) - cpu_before
        pg_cpu = _common.postgres_cpu_seconds(database) - pg_before
        procs.stop(serve)
        return load.merge_results(results), server_cpu, pg_cpu
    finally:
        procs.cleanup()


def _report(
    args: argparse.Namespace,
    refs: dict[str, load.CopyResult],
    http: load.HttpResult,
    cpu: tuple[float, float],
) -> str:
    def row(name: str, rate: float, p50: float, p95: float, py: float, pg: float, rows: int) -> list[str]:
        per_row = 1e6 / max(rows, 1)
        return [
            name,
            f"{rate:,.0f}",
            f"{p50 * 1e3:.1f}",
            f"{p95 * 1e3:.1f}",
            f"{py * per_row:.1f}",
            f"{pg * per_row:.1f}",
        ]

    one = (refs["1 before"].rate + refs["1 after"].rate) / 2
    many = (refs["n before"].rate + refs["n after"].rate) / 2
    n = args.agents
    rows = []
    for connections, label in ((1, "1"), (n, "n")):
        for when in ("before", "after"):
            r = refs[f"{label} {when}"]
            name = f"raw COPY, {connections} connection{'s' if connections > 1 else ''} ({when})"
            rows.append(row(name, r.rate, r.p50, r.p95, r.client_cpu, r.postgres_cpu, r.rows))
    workers = f"{args.workers} worker{'s' if args.workers > 1 else ''}"
    name = f"HTTP ingest, {n} agents, {workers}"
    rows.append(row(name, http.rate, http.p50, http.p95, cpu[0], cpu[1], http.samples))
    headers = ["path", "rows/s", "p50 batch ms", "p95 batch ms", "Python CPU µs/row", "Postgres CPU µs/row"]
    ratio = http.rate / one
    verdict = "MET" if ratio >= GOAL_RATIO else "NOT MET"
    return "\n".join(
        [
            _common.table(headers, rows),
            "",
            f"ratio HTTP / raw COPY, 1 connection (the goal's reference, mean of before and after) = "
            f"{http.rate:,.0f} / {one:,.0f} = {ratio:.3f}  (goal >= {GOAL_RATIO:.2f}: {verdict})",
            f"ratio HTTP / raw COPY, {n} connections (same concurrency as the agents) = "
            f"{http.rate:,.0f} / {many:,.0f} = {http.rate / many:.3f}",
            f"HTTP retries (429/5xx/transport): {http.retries}.  Python CPU: the control plane's processes "
            "(HTTP) or the COPY client; Postgres CPU: the backends of the benchmark's database.",
        ]
    )


def main() -> int:
    """Run the benchmark and print the table."""
    args = _parser().parse_args()
    machine = _common.machine()
    print(f"machine: {machine.describe()}", flush=True)
    per_agent = [
        args.samples // args.agents + (1 if i < args.samples % args.agents else 0) for i in range(args.agents)
    ]
    end_ts = time.time() - 120
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    agents = [
        load.AgentPlan(
            index=i,
            host_id=f"bench-{i:03d}",
            epoch=rng.getrandbits(62),
            samples=n,
            batch=args.batch,
            seed=args.seed,
            start_ts=end_ts - n,
            path=str(work / f"agent{i:03d}.bin"),
            token="",
        )
        for i, n in enumerate(per_agent)
    ]
    began = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(min(os.cpu_count() or 1, args.agents)) as pool:
        sizes = pool.map(load.prepare_agent, agents)
    raw, sent = sum(s[0] for s in sizes), sum(s[1] for s in sizes)
    print(
        f"prepared {args.samples:,} samples in {sum(len(range(0, n, args.batch)) for n in per_agent):,} "
        f"batches: {raw / 1e6:.0f} MB JSON, {sent / 1e6:.0f} MB gzip ({time.perf_counter() - began:.0f} s)",
        flush=True,
    )
    db_url = _common.create_database("bench_ingest")
    try:
        env = dict(os.environ, CLOUDSENSE_DB__URL=db_url)
        _common.run_quietly([sys.executable, "-m", "cloudsense", "db", "upgrade"], env)
        tokens = asyncio.run(_provision(db_url, agents))
        agents = [a.with_token(tokens[a.host_id]) for a in agents]
        server = asyncio.run(_server_settings(db_url))
        print("postgres: " + ", ".join(f"{k}={v}" for k, v in server.items()), flush=True)
        if server["fsync"] != "on" or server["synchronous_commit"] != "on":
            print("WARNING: durability is off on this server; the figures are not comparable", flush=True)
        refs: dict[str, load.CopyResult] = {}
        for label, connections in (("1 before", 1), ("n before", args.agents)):
            refs[label] = asyncio.run(load.copy_reference(db_url, agents, connections))
            print(f"raw COPY ({connections} connection(s)): {refs[label].rate:,.0f} rows/s", flush=True)
        http, server_cpu, pg_cpu = _run_http(args, work, db_url, agents)
        print(f"HTTP ingest: {http.rate:,.0f} rows/s", flush=True)
        verified = asyncio.run(load.verify(db_url, agents, http))
        for label, connections in (("n after", args.agents), ("1 after", 1)):
            refs[label] = asyncio.run(load.copy_reference(db_url, agents, connections))
            print(f"raw COPY ({connections} connection(s)): {refs[label].rate:,.0f} rows/s", flush=True)
        print()
        print(
            f"{args.samples:,} samples, {args.agents} agents, {args.batch}-sample batches, "
            f"{args.workers} worker(s), {args.clients} client process(es)\nmachine: {machine.describe()}; "
            f"load average at the end {' / '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        print(_report(args, refs, http, (server_cpu, pg_cpu)))
        print(f"verified: {verified}")
        ok = verified.startswith("OK")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept database {db_url} and {work}")
        else:
            _common.drop_database(db_url)
            for path in work.iterdir():
                path.unlink()
            work.rmdir()


if __name__ == "__main__":
    sys.exit(main())
