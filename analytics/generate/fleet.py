"""Drive the simulation model over days of simulated time and write the telemetry lake.

Hosts are cut into fixed blocks (``hosts_per_part``, independent of the worker count); one task simulates
one block from the first to the last sample and writes one file per UTC date,
``date=YYYY-MM-DD/part-<block>.parquet``, rows ordered by host then time. So the file names and their
bytes depend only on the arguments, never on ``--workers``. Everything is written under a temporary
folder beside the lake and renamed into place at the end: a crash never leaves a half-written lake.
"""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import shutil
import tempfile
import time
import uuid
from array import array
from concurrent.futures import FIRST_EXCEPTION, ProcessPoolExecutor, wait
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from agent.simulation import make_host
from agent.wire import METRIC_NAMES
from analytics.lake import TELEMETRY_DIR, partition_dir, telemetry_table, utc_date, write_meta, write_part

if TYPE_CHECKING:
    from collections.abc import Callable
    from multiprocessing.queues import Queue

__all__ = ["GenerateResult", "GenerateSpec", "LakeExistsError", "generate", "host_epoch"]

SIMULATION_MODEL = "cloudsense-sim/1"
"""Recorded in ``_meta.json``; bump when the simulation model changes what a seed produces."""
_DAY = 86400


class LakeExistsError(FileExistsError):
    """The output already holds a non-empty telemetry lake (pass ``force`` to replace it)."""


@dataclass(frozen=True)
class GenerateSpec:
    """What to generate."""

    out: Path
    """Lake root; the telemetry goes to ``out/telemetry``."""
    hosts: int = 100
    """Fleet size."""
    days: float = 7.0
    """Simulated duration."""
    interval: int = 60
    """Seconds between samples."""
    seed: int = 0
    """Fleet seed: the same arguments give the same data."""
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC)
    """First sample (UTC); a Monday by default."""
    hosts_per_part: int = 25
    """Hosts per file (and per task)."""

    @property
    def start_ts(self) -> int:
        """Epoch seconds of the first sample."""
        return int(self.start.timestamp())

    @property
    def samples_per_host(self) -> int:
        """Samples of each host."""
        return math.ceil(self.days * _DAY / self.interval)

    @property
    def blocks(self) -> int:
        """Number of host blocks (tasks, and files per date)."""
        return math.ceil(self.hosts / self.hosts_per_part)


@dataclass(frozen=True)
class GenerateResult:
    """What was written."""

    path: Path
    """The telemetry folder."""
    rows: int
    """Records written."""
    hosts: int
    """Hosts simulated."""
    files: int
    """Parquet files written."""
    seconds: float
    """Wall time."""


def host_epoch(seed: int, index: int) -> int:
    """The ``epoch`` column of a simulated host: a deterministic 63-bit number, as an agent's spool has."""
    digest = hashlib.sha256(f"cloudsense-sim-epoch/{seed}/{index}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


class _Sink(Protocol):
    def put(self, rows: int, /) -> None: ...


class _Direct:
    """Progress in this process: call back directly."""

    def __init__(self, callback: Callable[[int], None]) -> None:
        self.put = callback


_progress: _Sink | None = None


def _init_worker(sink: _Sink | None) -> None:
    global _progress
    _progress = sink


def simulate_block(spec: GenerateSpec, block: int, root: Path) -> tuple[int, int]:
    """Simulate hosts of ``block`` over the whole range; write one file per date. Returns (rows, files)."""
    first = block * spec.hosts_per_part
    indexes = range(first, min(first + spec.hosts_per_part, spec.hosts))
    hosts = [make_host(i, spec.seed, spec.start_ts) for i in indexes]
    epochs = [host_epoch(spec.seed, i) for i in indexes]
    start, step, total = spec.start_ts, spec.interval, spec.samples_per_host
    rows = files = 0
    k = 0
    while k < total:
        day = utc_date(start + k * step)
        day_end = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) + _DAY
        k_end = min(total, math.ceil((day_end - start) / step))
        columns: dict[str, Any] = {name: array("d") for name in METRIC_NAMES}
        appenders = [(name, columns[name].append) for name in METRIC_NAMES]
        host_ids: list[str] = []
        stamps, epoch_col, seqs = array("q"), array("q"), array("q")
        for host, epoch in zip(hosts, epochs, strict=True):
            n = k_end - k
            host_ids += [host.host_id] * n
            epoch_col.extend([epoch] * n)
            for j in range(k, k_end):
                ts = start + j * step
                sample = host.sample_at(ts)
                for name, append in appenders:
                    append(sample[name])
                stamps.append(ts)
                seqs.append(j)
        columns.update(host_id=host_ids, timestamp=stamps, epoch=epoch_col, seq=seqs)
        write_part(telemetry_table(columns), partition_dir(root, day) / f"part-{block:05d}.parquet")
        rows += len(stamps)
        files += 1
        if _progress is not None:
            _progress.put(len(stamps))
        k = k_end
    return rows, files


def _meta(spec: GenerateSpec, rows: int, files: int) -> dict[str, Any]:
    last = spec.start_ts + (spec.samples_per_host - 1) * spec.interval
    args = {
        k: (str(v) if isinstance(v, Path | datetime) else v) for k, v in asdict(spec).items() if k != "out"
    }
    args["start"] = spec.start.isoformat()
    return {
        "generator": "cloudsense generate",
        "simulation_model": SIMULATION_MODEL,
        "args": args,
        "rows": rows,
        "hosts": spec.hosts,
        "files": files,
        "interval_seconds": spec.interval,
        "time_range": {
            "first_timestamp": spec.start_ts,
            "last_timestamp": last,
            "first": spec.start.isoformat(),
            "last": datetime.fromtimestamp(last, UTC).isoformat(),
            "dates": [(spec.start.date() + timedelta(days=i)).isoformat() for i in range(_dates(spec))],
        },
    }


def _dates(spec: GenerateSpec) -> int:
    last = spec.start_ts + (spec.samples_per_host - 1) * spec.interval
    return (utc_date(last) - utc_date(spec.start_ts)).days + 1


def _run_blocks(
    spec: GenerateSpec, root: Path, workers: int, on_rows: Callable[[int], None]
) -> tuple[int, int]:
    if workers <= 1 or spec.blocks <= 1:
        _init_worker(_Direct(on_rows))
        try:
            totals = [simulate_block(spec, b, root) for b in range(spec.blocks)]
        finally:
            _init_worker(None)
        return sum(r for r, _ in totals), sum(f for _, f in totals)
    ctx = multiprocessing.get_context("spawn")  # never fork a process that runs a progress thread
    queue: Queue[int] = ctx.Queue()
    rows = files = 0
    with ProcessPoolExecutor(min(workers, spec.blocks), ctx, _init_worker, (queue,)) as pool:
        pending = {pool.submit(simulate_block, spec, b, root) for b in range(spec.blocks)}
        try:
            while pending:
                done, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
                while not queue.empty():
                    on_rows(queue.get())
                for future in done:
                    r, f = future.result()
                    rows, files = rows + r, files + f
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        while not queue.empty():
            on_rows(queue.get())
    return rows, files


def generate(
    spec: GenerateSpec, *, workers: int = 1, force: bool = False, on_rows: Callable[[int], None] | None = None
) -> GenerateResult:
    """Write ``spec.out/telemetry`` (atomically) and its ``_meta.json``.

    Args:
        spec: What to generate.
        workers: Processes (1: in this process).
        force: Replace an existing non-empty telemetry lake.
        on_rows: Called with the number of rows of each file written (progress).

    Raises:
        LakeExistsError: the lake exists, is not empty, and ``force`` is false.
        ValueError: nonsensical arguments.
    """
    if spec.hosts < 1 or spec.days <= 0 or spec.interval < 1 or spec.hosts_per_part < 1:
        raise ValueError("hosts, days, interval and hosts_per_part must be positive")
    began = time.perf_counter()
    target = spec.out / TELEMETRY_DIR
    if target.exists() and any(target.iterdir()) and not force:
        raise LakeExistsError(f"{target} exists and is not empty (use --force to replace it)")
    spec.out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{TELEMETRY_DIR}.tmp-", dir=spec.out))
    try:
        rows, files = _run_blocks(spec, tmp, workers, on_rows or (lambda _: None))
        write_meta(tmp, _meta(spec, rows, files))
        if target.exists():
            old = spec.out / f".{TELEMETRY_DIR}.old-{uuid.uuid4().hex}"
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - began
    return GenerateResult(target, rows, spec.hosts, files, seconds)
