"""Command line of ``cloudsense-agent``: ``enroll``, ``run``, ``status``, ``simulate``.

Exit codes: 0 success, 1 runtime failure (enrollment refused, server unreachable...), 2 usage or
configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from agent.settings import Settings, SettingsError, load_settings

__all__ = ["build_parser", "main"]

T = TypeVar("T")


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, help="TOML config file (default /etc/cloudsense/agent.toml if present)"
    )
    parser.add_argument("--state-dir", help="state directory (overrides [agent] state_dir)")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"], help="log level")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cloudsense-agent``."""
    parser = argparse.ArgumentParser(prog="cloudsense-agent", description="CloudSense host telemetry agent.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("enroll", help="exchange an enrollment token for this host's credential")
    _common(p)
    p.add_argument("--server", required=True, help="control-plane base URL")
    token = p.add_mutually_exclusive_group(required=True)
    token.add_argument("--token", help="enrollment token")
    token.add_argument("--token-file", type=Path, help="file holding the enrollment token")
    p.add_argument("--host-id", help="identity to enroll (default: [agent] host_id, else the hostname)")
    p.add_argument("--force", action="store_true", help="replace an existing credential")

    p = sub.add_parser("run", help="collect and ship until SIGTERM/SIGINT")
    _common(p)

    p = sub.add_parser("status", help="spool depth, last success, drops (no server needed)")
    _common(p)
    p.add_argument("--json", action="store_true", help="print JSON")

    p = sub.add_parser("simulate", help="run a simulated fleet through the real spool and shipper")
    _common(p)
    p.add_argument("--hosts", type=int, required=True, help="number of simulated hosts")
    p.add_argument(
        "--interval", type=float, help="seconds between samples (default: [agent] interval_seconds)"
    )
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: until a signal)")
    p.add_argument("--seed", type=int, default=0, help="fleet seed (default 0)")
    p.add_argument("--server", required=True, help="control-plane base URL")
    p.add_argument("--enroll-token", help="multi-use enrollment token (hosts without a credential enroll)")
    p.add_argument("--concurrency", type=int, default=16, help="concurrent HTTP requests (default 16)")
    p.add_argument(
        "--grace", type=float, default=10.0, help="seconds to drain the spools on exit (default 10)"
    )
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, dict[str, Any]] = {"agent": {}, "log": {"level": args.log_level}}
    if args.state_dir and args.command != "simulate":
        overrides["agent"]["state_dir"] = args.state_dir
    if getattr(args, "server", None) and args.command == "enroll":
        overrides["agent"]["server_url"] = args.server
    return load_settings(args.config, overrides=overrides)


def _run_until_signal(
    factory: Callable[[asyncio.Event], Coroutine[Any, Any, T]], *, io_threads: int = 4
) -> T:
    async def runner() -> T:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # fsyncs, meta writes and collections run in threads: a few are plenty (each costs memory).
        loop.set_default_executor(ThreadPoolExecutor(max_workers=io_threads, thread_name_prefix="agent-io"))
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await factory(stop)

    return asyncio.run(runner())


def _enroll(args: argparse.Namespace, settings: Settings) -> int:
    from agent.enroll import CredentialStore, EnrollError, enroll
    from agent.facts import collect_facts
    from agent.runner import default_host_id
    from agent.shipper import make_client
    from agent.source import PsutilSource
    from agent.status import HostPaths

    store = CredentialStore(HostPaths(Path(settings.agent.state_dir)).credential)
    existing = store.load()
    if existing is not None and not args.force:
        print(
            f"already enrolled as {existing.host_id} ({store.path}); use --force to replace", file=sys.stderr
        )
        return 2
    token = args.token if args.token else args.token_file.read_text(encoding="utf-8").strip()
    host_id = args.host_id or settings.agent.host_id or default_host_id()
    facts = collect_facts(PsutilSource())

    async def go() -> int:
        async with make_client(settings.agent) as client:
            try:
                credential = await enroll(client, args.server, token, host_id, facts)
            except EnrollError as exc:
                print(f"enrollment failed: {exc}", file=sys.stderr)
                return 1
        store.save(credential)
        print(f"enrolled {credential.host_id} (token id {credential.token_id}); credential in {store.path}")
        return 0

    return asyncio.run(go())


def _fmt_time(ts: float | None) -> str:
    return "never" if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds")


def _status(args: argparse.Namespace, settings: Settings) -> int:
    from agent.status import gather_status

    report = gather_status(Path(settings.agent.state_dir))
    if args.json:
        print(msgspec.json.encode(report).decode())
        return 0 if report["hosts"] else 1
    if not report["hosts"]:
        print(f"no agent state in {report['state_dir']}")
        return 1
    for host in report["hosts"]:
        spool = host["spool"] or {}
        print(f"host {host['host_id']}  enrolled={host['enrolled']}  running={host.get('running', False)}")
        depth = f"{spool.get('unacked_samples', 0)} unacked samples, {spool.get('unacked_bytes', 0)} bytes"
        print(f"  spool: {depth}")
        print(f"  last success: {_fmt_time(host.get('last_success_at'))}")
        if host.get("last_error"):
            print(f"  last error:   {_fmt_time(host.get('last_error_at'))} {host['last_error']}")
        if host.get("stuck_mounts"):
            print(f"  stuck mounts: {', '.join(host['stuck_mounts'])} (not answering; left out of disk_util)")
        print(
            f"  dropped={spool.get('dropped_total', 0)} lost={spool.get('lost_total', 0)} "
            f"dead-lettered={spool.get('dead_letter_total', 0)} auth_failures={host.get('auth_failures', 0)}"
        )
    if len(report["hosts"]) > 1:
        print("totals: " + " ".join(f"{k}={v}" for k, v in report["totals"].items()))
    return 0


def _simulate(args: argparse.Namespace, settings: Settings) -> int:
    from agent.simulate import SimulationError, result_line, run_simulation

    state_dir = Path(args.state_dir) if args.state_dir else Path(settings.agent.state_dir) / "simulate"
    try:
        result = _run_until_signal(
            lambda stop: run_simulation(
                settings.agent,
                hosts=args.hosts,
                seed=args.seed,
                server=args.server,
                state_dir=state_dir,
                stop=stop,
                interval=args.interval,
                duration=args.duration,
                enroll_token=args.enroll_token,
                concurrency=args.concurrency,
                grace=args.grace,
            ),
            io_threads=8,
        )
    except SimulationError as exc:
        print(f"simulate: {exc}", file=sys.stderr)
        return 2
    print(result_line(result), flush=True)
    return 0


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from agent.collectors import PluginNotFound
    from agent.runner import AgentRunner, ConfigurationError
    from agent.spool import SpoolLocked

    try:
        return _run_until_signal(lambda stop: AgentRunner(settings).run(stop), io_threads=2)
    except (ConfigurationError, PluginNotFound) as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 2
    except SpoolLocked as exc:
        print(f"run: {exc}", file=sys.stderr)
        return 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``cloudsense-agent``; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        settings = _settings(args)
    except SettingsError as exc:
        print(f"cloudsense-agent: {exc}", file=sys.stderr)
        return 2
    from agent.log import configure

    configure(settings.log)
    commands = {"enroll": _enroll, "run": _run, "status": _status, "simulate": _simulate}
    try:
        return commands[args.command](args, settings)
    except BrokenPipeError:  # `cloudsense-agent status | head`: the reader left, which is not an error
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so that the interpreter's final flush does not fail again
        return 0
