"""Benchmark: what a real ``cloudsense-agent run`` costs its host, beside prometheus-node-exporter.

    .venv/bin/python bench/agent_overhead.py                          # 10 minutes, 10 s interval
    .venv/bin/python bench/agent_overhead.py --minutes 1              # a quick check
    .venv/bin/python bench/agent_overhead.py --python /tmp/agentvenv/bin/python --python .venv/bin/python

In one run, side by side on this machine:

* a real control plane (``cloudsense serve``, SQLite by default, ``--postgres`` for a throwaway database
  on the local server), not measured;
* one real agent per ``--python`` interpreter (default: this one), each enrolled with its own identity
  and running ``-m agent run`` at ``--interval`` seconds with every default collector, shipping to that
  control plane, in the environment of the systemd unit (``Environment=`` lines of
  ``packaging/systemd/cloudsense-agent.service``, e.g. ``MALLOC_ARENA_MAX=2``; ``--no-unit-env`` drops them);
* ``prometheus-node-exporter`` (Debian package) on a free loopback port with its default collectors,
  scraped every ``--interval`` seconds by a small scraper thread in this script.

After ``--warmup`` seconds (start-up, imports, enrollment and the first batch are excluded), the CPU time
(utime + stime of ``/proc/<pid>/stat``) and RSS (``VmRSS`` of ``/proc/<pid>/status``, sampled every
interval) of each measured process alone are read for ``--minutes``. CPU is reported as CPU-seconds per
hour of wall time.

Goals (issue 2): agent CPU <= node_exporter's; agent RSS <= 35 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import _common
import httpx
import msgspec

NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
UNIT = _common.REPO / "packaging" / "systemd" / "cloudsense-agent.service"
RSS_GOAL_BYTES = 35 * 1024 * 1024
MB = 1024 * 1024


@dataclass
class Measured:
    """One measured process."""

    name: str
    """Row label."""
    pid: int
    """Process id."""
    state_dir: Path | None = None
    """Agent state dir (None for node_exporter)."""
    start_cpu: float = 0.0
    """CPU seconds at the start of the window (start-up cost)."""
    end_cpu: float = 0.0
    """CPU seconds at the end of the window."""
    rss: list[int] = field(default_factory=list)
    """VmRSS samples in the window."""
    hwm: int = 0
    """VmHWM at the end."""
    threads: int = 0
    """Threads at the end."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="measured window (default 10)")
    parser.add_argument("--interval", type=float, default=10.0, help="agent interval and scrape period (s)")
    parser.add_argument("--warmup", type=float, default=30.0, help="seconds excluded at the start")
    parser.add_argument(
        "--python",
        action="append",
        default=None,
        help="interpreter to run an agent under (repeatable; default: this one)",
    )
    parser.add_argument("--postgres", action="store_true", help="control plane on Postgres, not SQLite")
    parser.add_argument("--no-unit-env", action="store_true", help="ignore the systemd unit's Environment=")
    return parser


def unit_environment() -> dict[str, str]:
    """``Environment=K=V`` lines of the agent's systemd unit."""
    env = {}
    for line in UNIT.read_text().splitlines():
        if line.startswith("Environment="):
            key, _, value = line.removeprefix("Environment=").partition("=")
            env[key] = value
    return env


def _scraper(url: str, period: float, stop: threading.Event, counts: dict[str, int]) -> None:
    with httpx.Client(timeout=10) as client:
        while not stop.wait(period):
            try:
                response = client.get(url)
                counts["ok" if response.status_code == 200 else "failed"] += 1
                counts["bytes"] += len(response.content)
            except httpx.HTTPError:
                counts["failed"] += 1


def _start_control_plane(
    args: argparse.Namespace, work: Path, procs: _common.Processes, agents: int
) -> tuple[str, str, str | None]:
    """Start ``cloudsense serve``; ``(url, enrollment token, postgres url or None)``."""
    db_url = _common.create_database("bench_agent") if args.postgres else None
    env = dict(os.environ, CLOUDSENSE_DB__URL=db_url or f"sqlite:///{work}/controlplane.db")
    procs.env = env
    _common.run_quietly([sys.executable, "-m", "cloudsense", "db", "upgrade"], env)
    enroll = _common.run_quietly(
        [sys.executable, "-m", "cloudsense", "token", "enroll", "--uses", str(agents)], env
    )
    port = _common.free_port()
    serve = procs.start("controlplane", [sys.executable, "-m", "cloudsense", "serve", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    _common.wait_http_ok(f"{url}/ready", proc=serve)
    return url, enroll.strip().splitlines()[-1], db_url


def _start_agent(
    args: argparse.Namespace,
    python: str,
    index: int,
    work: Path,
    procs: _common.Processes,
    server: str,
    token: str,
) -> Measured:
    state = work / f"agent{index}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSENSE_")}
    if not args.no_unit_env:
        env.update(unit_environment())
    env.update(
        CLOUDSENSE_AGENT__SERVER_URL=server,
        CLOUDSENSE_AGENT__INTERVAL_SECONDS=str(args.interval),
        CLOUDSENSE_AGENT__HOST_ID=f"bench-agent-{index}",
        CLOUDSENSE_LOG__JSON_OUTPUT="true",
    )
    subprocess.run(
        [python, "-m", "agent", "enroll", "--server", server, "--token", token, "--state-dir", str(state)],
        env=env,
        check=True,
        capture_output=True,
        cwd=work,
    )
    proc = procs.start(f"agent{index}", [python, "-m", "agent", "run", "--state-dir", str(state)], env=env)
    return Measured(name=f"cloudsense-agent ({_describe(python)})", pid=proc.pid, state_dir=state)


def _describe(python: str) -> str:
    path = Path(python)
    venv = path.parent.parent
    return f"{venv.name or venv}" if (venv / "pyvenv.cfg").exists() else str(path)


def _agent_counts(state: Path) -> tuple[int, int]:
    try:
        status = msgspec.json.decode((state / "status.json").read_bytes())
    except (OSError, msgspec.DecodeError):
        return 0, 0
    return int(status.get("samples_produced", 0)), int(status.get("shipper", {}).get("samples_acked", 0))


def _measure(targets: list[Measured], minutes: float, period: float) -> float:
    began = time.monotonic()
    for t in targets:
        stat = _common.proc_stat(t.pid)
        t.start_cpu, t.rss = stat.cpu_seconds, [stat.rss_bytes]
    deadline = began + minutes * 60
    while (now := time.monotonic()) < deadline:
        time.sleep(min(period, deadline - now))
        for t in targets:
            t.rss.append(_common.proc_stat(t.pid).rss_bytes)
    elapsed = time.monotonic() - began
    for t in targets:
        stat = _common.proc_stat(t.pid)
        t.end_cpu, t.hwm, t.threads = stat.cpu_seconds, stat.hwm_bytes, stat.threads
    return elapsed


def _report(targets: list[Measured], elapsed: float, counts: dict[str, int]) -> str:
    node = targets[-1]
    node_cpu_h = (node.end_cpu - node.start_cpu) / elapsed * 3600
    rows = []
    verdicts = []
    for t in targets:
        cpu_h = (t.end_cpu - t.start_cpu) / elapsed * 3600
        extra = "-"
        if t.state_dir is not None:
            produced, acked = _agent_counts(t.state_dir)
            extra = f"{produced} produced / {acked} acked"
            verdicts.append(
                f"{t.name}: CPU {cpu_h:.1f} s/h vs node_exporter {node_cpu_h:.1f} s/h "
                f"({'MET' if cpu_h <= node_cpu_h else 'NOT MET'}); RSS max {max(t.rss) / MB:.1f} MB "
                f"vs 35 MB ({'MET' if max(t.rss) <= RSS_GOAL_BYTES else 'NOT MET'})"
            )
        else:
            size = counts["bytes"] / max(counts["ok"], 1) / 1024
            extra = f"{counts['ok']} scrapes ({counts['failed']} failed), {size:.0f} KiB each"
        rows.append(
            [
                t.name,
                f"{cpu_h:.1f}",
                f"{cpu_h / 36:.3f}",
                f"{t.start_cpu:.2f}",
                f"{sum(t.rss) / len(t.rss) / MB:.1f}",
                f"{max(t.rss) / MB:.1f}",
                f"{t.hwm / MB:.1f}",
                f"{t.threads}",
                extra,
            ]
        )
    headers = [
        "process",
        "CPU s/h",
        "CPU %",
        "start-up CPU s",
        "RSS mean MB",
        "RSS max MB",
        "VmHWM MB",
        "threads",
        "work",
    ]
    return _common.table(headers, rows) + "\n\n" + "\n".join(verdicts)


def main() -> int:
    """Run the benchmark and print the table."""
    args = _parser().parse_args()
    # absolute, symlinks kept: a venv's python is a symlink, and resolving it would leave the venv
    pythons = [os.path.abspath(p) for p in args.python or [sys.executable]]  # noqa: PTH100
    machine = _common.machine()
    print(f"machine: {machine.describe()}", flush=True)
    if not Path(NODE_EXPORTER).exists():
        print(f"{NODE_EXPORTER} is missing: apt-get install prometheus-node-exporter", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-agent-"))
    procs = _common.Processes(work)
    stop = threading.Event()
    db_url = None
    try:
        server, token, db_url = _start_control_plane(args, work, procs, len(pythons))
        targets = [_start_agent(args, p, i, work, procs, server, token) for i, p in enumerate(pythons)]
        node_port = _common.free_port()
        node = procs.start(
            "node_exporter",
            [NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{node_port}"],
            env=dict(os.environ),
        )
        node_url = f"http://127.0.0.1:{node_port}/metrics"
        _common.wait_http_ok(node_url, proc=node)
        targets.append(Measured(name="prometheus-node-exporter", pid=node.pid))
        counts = {"ok": 0, "failed": 0, "bytes": 0}
        threading.Thread(target=_scraper, args=(node_url, args.interval, stop, counts), daemon=True).start()
        print(f"warming up {args.warmup:.0f} s, then measuring {args.minutes:g} min ...", flush=True)
        time.sleep(args.warmup)
        for p in procs.procs:
            if p.poll() is not None:
                raise RuntimeError(f"{p.args!r} exited with status {p.returncode}; logs in {work}")
        counts.update(ok=0, failed=0, bytes=0)  # count the scrapes of the window only
        elapsed = _measure(targets, args.minutes, args.interval)
        stop.set()
        for t in targets[:-1]:
            for p in procs.procs:
                if p.pid == t.pid:
                    procs.stop(p)
        print()
        print(
            f"{len(pythons)} agent(s) at a {args.interval:g} s interval beside node_exporter scraped every "
            f"{args.interval:g} s, measured {elapsed / 60:.1f} min after {args.warmup:.0f} s of warm-up; "
            f"machine: {machine.describe()}"
        )
        print(_report(targets, elapsed, counts))
        return 0
    finally:
        stop.set()
        procs.cleanup()
        if db_url:
            _common.drop_database(db_url)
        for path in sorted(work.rglob("*"), reverse=True):
            path.rmdir() if path.is_dir() else path.unlink()
        work.rmdir()


if __name__ == "__main__":
    sys.exit(main())
