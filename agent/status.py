"""The state directory's layout, the status file the agent keeps, and the report ``status`` prints.

Layout of one host identity's directory (the agent's ``state_dir``; ``<state_dir>/<host_id>/`` for each
host of a simulated fleet)::

    credential.json   the agent credential (0600), from ``enroll``
    status.json       last success, last error, counters (replaced atomically by ``run``)
    spool/            meta.json, segment files, dead-letter.jsonl (see agent.spool)
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from agent._fs import atomic_write
from agent.shipper import ShipperStats
from agent.spool import inspect_spool

__all__ = ["AgentStatus", "HostPaths", "gather_status", "read_status", "write_status"]

FLEET_FILE = "fleet.json"


@dataclass(frozen=True)
class HostPaths:
    """Where one host identity keeps its state."""

    root: Path

    @property
    def credential(self) -> Path:
        """The credential file."""
        return self.root / "credential.json"

    @property
    def status(self) -> Path:
        """The status file."""
        return self.root / "status.json"

    @property
    def spool(self) -> Path:
        """The spool directory."""
        return self.root / "spool"


class AgentStatus(msgspec.Struct, kw_only=True):
    """What ``run`` writes to ``status.json`` after every collection and on exit."""

    host_id: str
    """The host identity."""
    epoch: int
    """The spool's epoch."""
    pid: int
    """Process id of the agent that wrote the file."""
    agent_version: str
    """Version of that agent."""
    running: bool
    """False once the agent stopped cleanly."""
    started_at: float
    """Unix time the agent started."""
    updated_at: float
    """Unix time of this write."""
    samples_produced: int = 0
    """Samples collected into the spool since the agent started."""
    collect_errors: int = 0
    """Collector failures since the agent started."""
    stuck_mounts: list[str] = msgspec.field(default_factory=list)
    """Mounts whose usage call has not returned (a dead NFS server): left out of ``disk_util`` meanwhile."""
    shipper: ShipperStats = msgspec.field(default_factory=ShipperStats)
    """Shipping counters, cumulative across restarts."""


def read_status(path: Path) -> AgentStatus | None:
    """The status file, or ``None`` if absent or unreadable."""
    try:
        return msgspec.json.decode(path.read_bytes(), type=AgentStatus)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        return None


def write_status(path: Path, status: AgentStatus) -> None:
    """Replace the status file atomically (no fsync: it is rewritten every interval)."""
    status.updated_at = time.time()
    atomic_write(path, msgspec.json.encode(status), mode=0o644, durable=False)


def _host_report(paths: HostPaths) -> dict[str, Any] | None:
    spool = inspect_spool(paths.spool)
    status = read_status(paths.status)
    if spool is None and status is None:
        return None
    report: dict[str, Any] = {
        "host_id": status.host_id if status else paths.root.name,
        "enrolled": paths.credential.exists(),
        "spool": msgspec.to_builtins(spool) if spool else None,
    }
    if status is not None:
        alive = status.running and _pid_alive(status.pid)
        report.update(
            running=alive,
            pid=status.pid,
            updated_at=status.updated_at,
            last_success_at=status.shipper.last_success_at,
            last_error=status.shipper.last_error,
            last_error_at=status.shipper.last_error_at,
            auth_failures=status.shipper.auth_failures,
            dead_lettered=status.shipper.dead_lettered,
            samples_acked=status.shipper.samples_acked,
            stuck_mounts=status.stuck_mounts,
        )
    return report


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def gather_status(state_dir: Path) -> dict[str, Any]:
    """Status of the agent in ``state_dir``, or of every simulated host under it.

    Reads only (never repairs or locks): safe while the agent runs, and needs no server.
    """
    own = _host_report(HostPaths(state_dir))
    hosts = [own] if own is not None else []
    if own is None and state_dir.is_dir():
        for child in sorted(p for p in state_dir.iterdir() if p.is_dir()):
            report = _host_report(HostPaths(child))
            if report is not None:
                hosts.append(report)
    spools = [h["spool"] for h in hosts if h["spool"]]
    return {
        "state_dir": str(state_dir),
        "hosts": hosts,
        "totals": {
            "hosts": len(hosts),
            "unacked_samples": sum(s["unacked_samples"] for s in spools),
            "unacked_bytes": sum(s["unacked_bytes"] for s in spools),
            "dropped_total": sum(s["dropped_total"] for s in spools),
            "lost_total": sum(s["lost_total"] for s in spools),
            "dead_letter_total": sum(s["dead_letter_total"] for s in spools),
            "auth_failures": sum(h.get("auth_failures", 0) for h in hosts),
        },
    }
