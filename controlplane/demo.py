"""``cloudsense demo``: the whole loop on this machine, on the embedded default.

It prepares the SQLite database under ``--data-dir``, issues an admin credential (kept in
``<data-dir>/demo/admin.token``, mode 0600) and an enrollment token, then starts real processes:

* the control plane (``cloudsense serve``),
* a simulated fleet (``cloudsense-agent simulate``), whose hosts enroll themselves as real agents do,
* a real agent for this machine (``cloudsense-agent enroll`` once, then ``cloudsense-agent run``),

and shows a live table of hosts read from the REST API until Ctrl-C (or ``--duration``). Logs of each
process go to ``<data-dir>/demo/*.log``. Running it again resumes the same fleet, spools and database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

from controlplane.db.session import Database
from controlplane.demo_view import render_hosts
from controlplane.domain.auth.tokens import Role
from controlplane.provision import create_api_token, create_enrollment_token, prepare_database
from controlplane.settings import DatabaseSettings, Settings

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cloudsense demo", description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=20, help="simulated hosts (default 20)")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--port", type=int, default=8000, help="control-plane port (default 8000)")
    parser.add_argument(
        "--data-dir", type=Path, default=Path(".cloudsense"), help="state (default .cloudsense)"
    )
    parser.add_argument("--seed", type=int, default=0, help="simulated fleet seed (default 0)")
    parser.add_argument("--duration", type=float, help="stop after this many seconds (default: Ctrl-C)")
    parser.add_argument("--no-agent", action="store_true", help="do not run the real agent for this machine")
    return parser


@dataclass
class _Fleet:
    """The child processes of the demo and where their logs go."""

    logs: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    files: list[IO[bytes]] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str], *, stdout_to_log: bool = True) -> None:
        log_file = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self.files.append(log_file)
        self.procs[name] = subprocess.Popen(
            argv,
            env=env,
            stdout=log_file if stdout_to_log else subprocess.PIPE,
            stderr=log_file,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches the demo only; it stops children in order
        )

    def check(self) -> str | None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                return f"{name} exited with status {proc.returncode}; see {self.logs / (name + '.log')}"
        return None

    def stop(self) -> dict[str, str]:
        """SIGTERM the agents first (they drain their spools), then the control plane."""
        outputs: dict[str, str] = {}
        for name in [n for n in self.procs if n != "controlplane"] + ["controlplane"]:
            proc = self.procs.get(name)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                out, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                out, _ = proc.communicate()
            if out:
                outputs[name] = out.decode(errors="replace").strip()
        for f in self.files:
            f.close()
        return outputs


def _admin_token(settings: Settings, path: Path) -> str:
    if path.is_file():
        return path.read_text().strip()
    issued = asyncio.run(_issue(settings, Role.ADMIN, 0))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(issued + "\n")
    return issued


async def _issue(settings: Settings, role: Role | None, uses: int) -> str:
    database = Database(settings.db)
    try:
        if role is not None:
            return (await create_api_token(database, role, name="demo")).token
        return (await create_enrollment_token(database, uses=uses, ttl_seconds=3600, name="demo")).token
    finally:
        await database.dispose()


def _wait_ready(client: httpx.Client, fleet: _Fleet, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        problem = fleet.check()
        if problem:
            raise RuntimeError(problem)
        with contextlib.suppress(httpx.HTTPError):
            if client.get("/ready").status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError(f"the control plane was not ready within {timeout:.0f} s")


def _hosts(client: httpx.Client) -> dict[str, Any]:
    response = client.get("/api/v1/hosts", params={"limit": 200, "sort": "host_id"})
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def main(argv: Sequence[str]) -> int:
    """Run the demo until Ctrl-C or ``--duration``; ``argv[0]`` is ``demo``."""
    args = _parser().parse_args(list(argv[1:]))
    data_dir: Path = args.data_dir.resolve()
    demo_dir = data_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    db_url = f"sqlite+aiosqlite:///{data_dir / 'cloudsense.db'}"
    settings = Settings(db=DatabaseSettings(url=db_url))
    server = f"http://127.0.0.1:{args.port}"

    print(f"cloudsense demo: preparing {data_dir / 'cloudsense.db'}", file=sys.stderr)
    prepare_database(settings)
    admin = _admin_token(settings, demo_dir / "admin.token")
    enrollment = asyncio.run(_issue(settings, None, args.hosts + 1))

    env = dict(os.environ, CLOUDSENSE_DB__URL=db_url)
    fleet = _Fleet(demo_dir)
    stop_requested = False

    def _request_stop(_signum: int, _frame: object) -> None:
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    py = sys.executable
    try:
        fleet.start("controlplane", [py, "-m", "cloudsense", "serve", "--port", str(args.port)], env)
        client = httpx.Client(base_url=server, headers={"Authorization": f"Bearer {admin}"}, timeout=5.0)
        _wait_ready(client, fleet)
        print(f"cloudsense demo: control plane ready at {server}", file=sys.stderr)
        fleet.start(
            "fleet",
            [
                py,
                "-m",
                "agent",
                "simulate",
                "--hosts",
                str(args.hosts),
                "--interval",
                str(args.interval),
                "--seed",
                str(args.seed),
                "--server",
                server,
                "--enroll-token",
                enrollment,
                "--state-dir",
                str(demo_dir / "fleet"),
            ],
            env,
            stdout_to_log=False,
        )
        if not args.no_agent:
            _start_real_agent(fleet, env, server, enrollment, demo_dir / "agent", args.interval)
        _show(client, fleet, args, admin_path=demo_dir / "admin.token", stop=lambda: stop_requested)
    except RuntimeError as exc:
        print(f"cloudsense demo: {exc}", file=sys.stderr)
        fleet.stop()
        return 1
    outputs = fleet.stop()
    if "fleet" in outputs:
        print(f"simulated fleet: {outputs['fleet'].splitlines()[-1]}")
    print(f"state kept in {data_dir} (run 'make demo' again to resume; delete it to start afresh)")
    return 0


def _start_real_agent(
    fleet: _Fleet, env: dict[str, str], server: str, enrollment: str, state: Path, interval: float
) -> None:
    agent_env = dict(
        env, CLOUDSENSE_AGENT__INTERVAL_SECONDS=str(interval), CLOUDSENSE_AGENT__SERVER_URL=server
    )
    if not (state / "credential.json").is_file():
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "agent",
                "enroll",
                "--server",
                server,
                "--token",
                enrollment,
                "--state-dir",
                str(state),
            ],
            env=agent_env,
            capture_output=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"enrolling this machine's agent failed: {done.stderr.decode().strip()}")
    fleet.start("agent", [sys.executable, "-m", "agent", "run", "--state-dir", str(state)], agent_env)


def _show(
    client: httpx.Client, fleet: _Fleet, args: argparse.Namespace, *, admin_path: Path, stop: Any
) -> None:
    """Refresh the hosts table every 2 s in a terminal (every 10 s, appended, when piped to a file)."""
    from rich.console import Console
    from rich.live import Live

    console = Console()
    interactive = console.is_terminal
    if not interactive:
        console = Console(width=150)
    started = time.monotonic()
    header = f"control plane {client.base_url}  ·  admin token in {admin_path}  ·  Ctrl-C to stop"
    live = Live(console=console, auto_refresh=False) if interactive else contextlib.nullcontext()
    with live:
        while not stop():
            if args.duration is not None and time.monotonic() - started >= args.duration:
                return
            problem = fleet.check()
            if problem:
                raise RuntimeError(problem)
            try:
                rows = max(console.height - 8, 5)
                view = render_hosts(_hosts(client), header=header, max_rows=rows, width=console.width)
            except httpx.HTTPError as exc:
                view = render_hosts(None, header=f"{header}\n(API unavailable: {exc})", max_rows=5)
            if isinstance(live, Live):
                live.update(view, refresh=True)
            else:
                console.print(view)
            deadline = time.monotonic() + (2.0 if interactive else 10.0)
            while time.monotonic() < deadline and not stop():
                time.sleep(0.1)
