"""The moving parts of ``bench/ingest.py``: wire batches made up front, the load generator, the reference.

Run as a script, this module is one load-generator process: ``python bench/_ingest_load.py SPEC.json``
reads its agents' pre-built bodies, prints ``ready``, waits for ``go`` on stdin, posts every batch (one
httpx connection per agent, as real agents do) and prints one JSON line (:class:`HttpResult`).
"""

from __future__ import annotations

import asyncio
import gzip
import struct
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import _common
import msgspec

REF_TABLE = "bench_ref"
"""The reference table: ``LIKE telemetry INCLUDING ALL`` (same columns, primary key and indexes)."""
_LEN = struct.Struct("<I")
_RETRYABLE = frozenset({429, 502, 503, 504})


class AgentPlan(msgspec.Struct, frozen=True):
    """One simulated agent: its identity, its backlog and where its bodies are."""

    index: int
    """Host index in the simulated fleet."""
    host_id: str
    """Host identity."""
    epoch: int
    """Spool epoch."""
    samples: int
    """Samples in its backlog."""
    batch: int
    """Samples per batch."""
    seed: int
    """Fleet seed."""
    start_ts: float
    """Timestamp of seq 0 (one sample per second after it)."""
    path: str
    """File of its gzip bodies (length-prefixed)."""
    token: str
    """Bearer credential (role agent, this host only)."""

    def with_token(self, token: str) -> AgentPlan:
        """The same plan with its credential."""
        return msgspec.structs.replace(self, token=token)


class ClientSpec(msgspec.Struct, frozen=True):
    """What one load-generator process does."""

    server: str
    """Control-plane base URL."""
    agents: list[AgentPlan]
    """Its agents."""


class HttpResult(msgspec.Struct):
    """What the load generators measured."""

    started: float
    """Wall time of the first request."""
    ended: float
    """Wall time of the last answer."""
    samples: int
    """Samples posted and answered 200."""
    accepted: int
    """Samples the server reported as new."""
    duplicates: int
    """Samples the server reported as already stored."""
    retries: int
    """Retried requests (429, 5xx, transport errors)."""
    latencies: list[float]
    """Seconds per successful request."""

    @property
    def rate(self) -> float:
        """Samples per second, first request to last answer."""
        return self.samples / max(self.ended - self.started, 1e-9)

    @property
    def p50(self) -> float:
        """Median batch latency, seconds."""
        return _common.percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        """95th percentile batch latency, seconds."""
        return _common.percentile(self.latencies, 95)


class CopyResult(msgspec.Struct):
    """The raw-COPY reference."""

    rows: int
    """Rows copied."""
    wall: float
    """Seconds from the first COPY to the last COMMIT."""
    latencies: list[float]
    """Seconds per committed batch (COPY + COMMIT)."""
    client_cpu: float = 0.0
    """CPU seconds of this (client) process while copying."""
    postgres_cpu: float = 0.0
    """CPU seconds of the Postgres backends while copying."""

    @property
    def rate(self) -> float:
        """Rows per second of wall time."""
        return self.rows / max(self.wall, 1e-9)

    @property
    def p50(self) -> float:
        """Median batch time, seconds."""
        return _common.percentile(self.latencies, 50)

    @property
    def p95(self) -> float:
        """95th percentile batch time, seconds."""
        return _common.percentile(self.latencies, 95)


def encode_spec(spec: ClientSpec) -> bytes:
    """JSON of a client spec."""
    return msgspec.json.encode(spec)


def decode_result(line: bytes) -> HttpResult:
    """A load generator's result line."""
    return msgspec.json.decode(line, type=HttpResult)


def merge_results(results: list[HttpResult]) -> HttpResult:
    """All load generators as one."""
    return HttpResult(
        started=min(r.started for r in results),
        ended=max(r.ended for r in results),
        samples=sum(r.samples for r in results),
        accepted=sum(r.accepted for r in results),
        duplicates=sum(r.duplicates for r in results),
        retries=sum(r.retries for r in results),
        latencies=[x for r in results for x in r.latencies],
    )


# --- the data ----------------------------------------------------------------------------------------


def prepare_agent(plan: AgentPlan) -> tuple[int, int]:
    """Make an agent's samples with the simulation model and write its gzip wire bodies.

    Returns:
        ``(JSON bytes, gzip bytes)``.
    """
    from agent import wire
    from agent.facts import clean_metrics
    from agent.simulation import make_host

    host = make_host(plan.index, plan.seed, plan.start_ts)
    raw = sent = 0
    with open(plan.path, "wb") as out:
        for first in range(0, plan.samples, plan.batch):
            samples = []
            for seq in range(first, min(first + plan.batch, plan.samples)):
                ts = plan.start_ts + seq
                samples.append(wire.Sample(seq=seq, ts=ts, **clean_metrics(host.sample_at(ts))))
            batch = wire.Batch(
                host_id=plan.host_id,
                agent_version="bench",
                epoch=plan.epoch,
                samples=samples,
                facts=host.facts if first == 0 else None,
            )
            body = wire.encode_batch(batch)
            packed = gzip.compress(body, compresslevel=5, mtime=0)  # as agent.shipper does
            out.write(_LEN.pack(len(packed)) + packed)
            raw, sent = raw + len(body), sent + len(packed)
    return raw, sent


def read_bodies(path: str) -> list[bytes]:
    """An agent's gzip bodies, in seq order."""
    data = Path(path).read_bytes()
    bodies, at = [], 0
    while at < len(data):
        (size,) = _LEN.unpack_from(data, at)
        bodies.append(data[at + 4 : at + 4 + size])
        at += 4 + size
    return bodies


def _records(body: bytes, received_at: datetime) -> list[tuple[object, ...]]:
    """The rows of one body, as the control plane stores them (``TELEMETRY_COLUMNS`` order)."""
    from agent import wire

    batch = wire.decode_batch(gzip.decompress(body))
    names = wire.METRIC_NAMES
    enc = msgspec.json.encode
    return [
        (
            batch.host_id,
            batch.epoch,
            s.seq,
            datetime.fromtimestamp(s.ts, UTC),
            *(getattr(s, n) for n in names),
            enc(s.mounts).decode() if s.mounts is not None else None,
            received_at,
        )
        for s in batch.samples
    ]


async def copy_reference(db_url: str, agents: list[AgentPlan], connections: int = 1) -> CopyResult:
    """Raw asyncpg COPY of the same rows into the reference table, one committed batch at a time.

    With ``connections`` > 1, that many connections copy at once (agent ``i`` on connection
    ``i % connections``), as the HTTP path's concurrent agents do. Only COPY + COMMIT are on the clock:
    the rows are decoded from the bodies beforehand; the rate is rows / wall time of the copying.
    """
    import asyncpg  # type: ignore[import-untyped]

    from controlplane.db.models import TELEMETRY_COLUMNS

    now = datetime.now(UTC)
    lanes: list[list[list[tuple[object, ...]]]] = [[] for _ in range(connections)]
    for i, agent in enumerate(agents):
        lanes[i % connections].extend(_records(body, now) for body in read_bodies(agent.path))
    pool = [await asyncpg.connect(db_url) for _ in range(connections)]
    latencies: list[float] = []

    async def lane(connection: asyncpg.Connection, batches: list[list[tuple[object, ...]]]) -> None:
        for records in batches:
            began = time.perf_counter()
            async with connection.transaction():
                await connection.copy_records_to_table(REF_TABLE, records=records, columns=TELEMETRY_COLUMNS)
            latencies.append(time.perf_counter() - began)

    try:
        await pool[0].execute(f"TRUNCATE {REF_TABLE}")
        await pool[0].execute("CHECKPOINT")
        database = db_url.rsplit("/", 1)[1]
        pg_before, cpu_before = _common.postgres_cpu_seconds(database), time.process_time()
        began = time.perf_counter()
        await asyncio.gather(*(lane(c, b) for c, b in zip(pool, lanes, strict=True)))
        wall = time.perf_counter() - began
        client_cpu = time.process_time() - cpu_before
        postgres_cpu = _common.postgres_cpu_seconds(database) - pg_before
        rows = sum(len(r) for b in lanes for r in b)
        stored = await pool[0].fetchval(f"SELECT count(*) FROM {REF_TABLE}")
        if stored != rows:
            raise RuntimeError(f"reference table holds {stored} rows, {rows} copied")
    finally:
        for connection in pool:
            await connection.close()
    return CopyResult(
        rows=rows, wall=wall, latencies=latencies, client_cpu=client_cpu, postgres_cpu=postgres_cpu
    )


async def verify(db_url: str, agents: list[AgentPlan], http: HttpResult) -> str:
    """Check the telemetry table holds every sample sent exactly once; ``OK ...`` or what is wrong."""
    import asyncpg

    connection = await asyncpg.connect(db_url)
    try:
        total, distinct = await connection.fetchrow(
            "SELECT count(*), count(DISTINCT (host_id, epoch, seq)) FROM telemetry"
        )
        per_host = {
            r["host_id"]: (r["epoch"], r["n"], r["lo"], r["hi"])
            for r in await connection.fetch(
                "SELECT host_id, epoch, count(*) AS n, min(seq) AS lo, max(seq) AS hi "
                "FROM telemetry GROUP BY host_id, epoch"
            )
        }
    finally:
        await connection.close()
    expected = sum(a.samples for a in agents)
    problems = []
    if total != expected or distinct != expected:
        problems.append(f"{total} rows, {distinct} distinct (host, epoch, seq), {expected} sent")
    for a in agents:
        if per_host.get(a.host_id) != (a.epoch, a.samples, 0, a.samples - 1):
            problems.append(
                f"{a.host_id}: {per_host.get(a.host_id)} != {(a.epoch, a.samples, 0, a.samples - 1)}"
            )
    if http.accepted != expected or http.duplicates != 0:
        problems.append(f"server answered accepted={http.accepted} duplicates={http.duplicates}")
    if problems:
        return "FAILED: " + "; ".join(problems[:5])
    return f"OK: {total:,} rows = {expected:,} samples sent, 0 missing, 0 duplicates"


# --- the load generator process ----------------------------------------------------------------------


async def _agent(server: str, plan: AgentPlan, bodies: list[bytes], out: HttpResult) -> None:
    import httpx

    headers = {
        "Authorization": f"Bearer {plan.token}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    url = f"{server}/api/v1/telemetry"
    async with httpx.AsyncClient(timeout=120) as client:
        for body in bodies:
            attempt = 0
            while True:
                began = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                except httpx.TransportError:
                    status = 0
                else:
                    status = response.status_code
                if status == 200:
                    out.latencies.append(time.perf_counter() - began)
                    answer = response.json()
                    out.accepted += answer["accepted"]
                    out.duplicates += answer["duplicates"]
                    out.samples += answer["accepted"] + answer["duplicates"]
                    break
                if status and status not in _RETRYABLE:
                    raise RuntimeError(f"{plan.host_id}: HTTP {status}: {response.text[:300]}")
                out.retries += 1
                attempt += 1
                await asyncio.sleep(min(1.0, 0.05 * 2**attempt))


async def _run(spec: ClientSpec, bodies: dict[str, list[bytes]]) -> HttpResult:
    out = HttpResult(
        started=time.time(), ended=0.0, samples=0, accepted=0, duplicates=0, retries=0, latencies=[]
    )
    await asyncio.gather(*(_agent(spec.server, a, bodies[a.host_id], out) for a in spec.agents))
    out.ended = time.time()
    return out


def client_main(spec_file: str) -> int:
    """One load-generator process (see the module docstring)."""
    spec = msgspec.json.decode(Path(spec_file).read_bytes(), type=ClientSpec)
    bodies = {a.host_id: read_bodies(a.path) for a in spec.agents}
    import httpx  # noqa: F401  (imported before "ready": not on the clock)

    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if sys.stdin.readline().strip() != "go":
        return 1
    result = asyncio.run(_run(spec, bodies))
    sys.stdout.write(msgspec.json.encode(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(client_main(sys.argv[1]))
