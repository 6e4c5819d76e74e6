"""Helpers shared by the benchmark scripts: the machine, tables, child processes, throwaway databases, /proc.

The benchmarks are scripts (``python bench/<name>.py``), never part of the test suite; this module sits
beside them and is imported as ``_common`` (the script's folder is first on ``sys.path``).
"""

from __future__ import annotations

import asyncio
import os
import platform
import re
import secrets
import signal
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = [
    "DEFAULT_ADMIN_URL",
    "Machine",
    "ProcStat",
    "Processes",
    "create_database",
    "drop_database",
    "free_port",
    "machine",
    "percentile",
    "postgres_cpu_seconds",
    "proc_stat",
    "run_quietly",
    "table",
    "tree_cpu_seconds",
    "wait_http_ok",
]

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
"""Admin URL of the Postgres server the benchmarks create their databases on (``BENCH_ADMIN_URL``)."""
REPO = Path(__file__).resolve().parent.parent
"""The checkout the benchmarks run from."""
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Machine:
    """Where and when a benchmark ran."""

    cores: int
    """Logical CPUs."""
    cpu_model: str
    """``model name`` of /proc/cpuinfo."""
    load: tuple[float, float, float]
    """Load average (1, 5, 15 min) at the start."""
    python: str
    """Interpreter version."""
    when: str
    """UTC date and time."""

    def describe(self) -> str:
        """One line for the report."""
        one, five, fifteen = self.load
        return (
            f"{self.when}  {self.cores} cores ({self.cpu_model})  load average at start "
            f"{one:.2f} / {five:.2f} / {fifteen:.2f}  Python {self.python}"
        )


def machine() -> Machine:
    """Describe this machine now."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return Machine(
        cores=os.cpu_count() or 1,
        cpu_model=model,
        load=os.getloadavg(),
        python=platform.python_version(),
        when=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain-text table (Markdown-compatible), numbers right-aligned."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    numeric = [all(_numeric(r[i]) for r in cells[1:]) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        parts = [c.rjust(w) if n else c.ljust(w) for c, w, n in zip(row, widths, numeric, strict=True)]
        return "| " + " | ".join(parts) + " |"

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if n else "-" * (w + 2) for w, n in zip(widths, numeric, strict=True)
        )
        + "|"
    )
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _numeric(text: str) -> bool:
    return not text.strip() or bool(re.fullmatch(r"[-+]?[\d,.]+\s*[%a-zA-Z/]*", text.strip()))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``values``, interpolated; NaN when empty."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return float(values[0])
    return float(statistics.quantiles(values, n=100, method="inclusive")[max(0, min(98, round(q) - 1))])


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http_ok(url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Poll ``url`` until it answers 200.

    Raises:
        RuntimeError: Not ready in time, or ``proc`` exited meanwhile.
    """
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with status {proc.returncode} before {url} answered")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within {timeout:.0f} s")


class Processes:
    """Child processes started by a benchmark, logs in files, always stopped (by pid) at the end."""

    def __init__(self, logs: Path, env: dict[str, str] | None = None) -> None:
        """Args: logs: folder of the ``<name>.log`` files; env: environment of the children."""
        self.logs = logs
        self.env = env if env is not None else dict(os.environ)
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        stdin: int | None = subprocess.DEVNULL,
        stdout: int | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.Popen[bytes]:
        """Start ``argv``; stderr (and stdout unless given) go to ``<logs>/<name>.log``."""
        with open(self.logs / f"{name}.log", "ab") as log:
            proc = subprocess.Popen(
                list(argv),
                env=env if env is not None else self.env,
                stdin=stdin,
                stdout=stdout if stdout is not None else log,
                stderr=log,
                cwd=REPO,
            )
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> int:
        """SIGTERM, then SIGKILL after ``timeout``; the exit status."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return int(proc.returncode)

    def cleanup(self) -> None:
        """Stop every child still running."""
        for proc in self.procs:
            if proc.poll() is None:
                self.stop(proc, timeout=10)


def run_quietly(argv: Sequence[str], env: dict[str, str]) -> str:
    """Run a command to completion; its stdout. Its output is shown only if it fails.

    Raises:
        RuntimeError: Non-zero exit status (with the command's output).
    """
    done = subprocess.run(list(argv), env=env, capture_output=True, text=True, cwd=REPO, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done.stdout


# --- throwaway Postgres databases --------------------------------------------------------------------


def admin_url() -> str:
    """The admin URL (``BENCH_ADMIN_URL``, else ``CLOUDSENSE_TEST_DATABASE_URL``, else the default)."""
    return (
        os.environ.get("BENCH_ADMIN_URL")
        or os.environ.get("CLOUDSENSE_TEST_DATABASE_URL")
        or DEFAULT_ADMIN_URL
    )


def _with_database(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql", database=name).render_as_string(hide_password=False)


async def _admin_execute(statement: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(_with_database(admin_url(), "postgres"), timeout=10)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def create_database(prefix: str) -> str:
    """Create a uniquely named, empty database; its ``postgresql://`` URL."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    if not _NAME.match(name):
        raise ValueError(f"bad database name {name!r}")
    asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    return _with_database(admin_url(), name)


def drop_database(url: str) -> None:
    """Drop a database made by :func:`create_database` (``WITH (FORCE)``)."""
    from sqlalchemy.engine import make_url

    name = make_url(url).database or ""
    if not _NAME.match(name):
        raise ValueError(f"refusing to drop {name!r}")
    asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- /proc -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcStat:
    """CPU time and memory of one process, from /proc."""

    cpu_seconds: float
    """User + system CPU time so far."""
    rss_bytes: int
    """Resident set size now (``VmRSS``)."""
    hwm_bytes: int
    """Peak resident set size (``VmHWM``)."""
    threads: int
    """Threads."""


def proc_stat(pid: int) -> ProcStat:
    """Read ``/proc/<pid>/stat`` (utime + stime) and ``/proc/<pid>/status`` (VmRSS, VmHWM, Threads)."""
    raw = Path(f"/proc/{pid}/stat").read_text()
    fields = raw[raw.rindex(")") + 2 :].split()  # the command name may hold spaces or parentheses
    utime, stime = int(fields[11]), int(fields[12])
    status = dict(_status_lines(Path(f"/proc/{pid}/status").read_text()))
    return ProcStat(
        cpu_seconds=(utime + stime) / _CLK_TCK,
        rss_bytes=_kib(status.get("VmRSS", "0 kB")),
        hwm_bytes=_kib(status.get("VmHWM", "0 kB")),
        threads=int(status.get("Threads", "0")),
    )


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and all its descendants alive now (e.g. uvicorn and its workers)."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            total += proc_stat(current).cpu_seconds
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError):
            continue
    return total


def postgres_cpu_seconds(database: str) -> float:
    """CPU seconds of the local Postgres backends connected to ``database`` (0 if none are visible).

    Backends are found by their process title (``postgres: USER DATABASE HOST(PORT) STATE``); this works
    when the server runs on this machine and /proc shows its processes.
    """
    total = 0.0
    marker = f" {database} ".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes()
            if title.startswith(b"postgres: ") and marker in title:
                total += proc_stat(int(entry.name)).cpu_seconds
        except (OSError, ValueError):
            continue
    return total


def _status_lines(text: str) -> Iterator[tuple[str, str]]:
    for line in text.splitlines():
        key, _, value = line.partition(":")
        yield key, value.strip()


def _kib(value: str) -> int:
    return int(value.split()[0]) * 1024
