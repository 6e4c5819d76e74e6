"""The demo's live table of hosts, rendered with rich from a ``GET /api/v1/hosts`` page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

__all__ = ["render_hosts"]

_STATUS_STYLE = {"up": "green", "pending": "cyan", "stale": "yellow", "down": "red"}
_UTIL = (("cpu_util", "CPU %"), ("mem_util", "MEM %"), ("disk_util", "DISK %"), ("swap_util", "SWAP %"))


def _pct(value: Any) -> Text:
    if value is None:
        return Text("-", style="dim")
    style = "bold red" if value >= 95 else "yellow" if value >= 85 else ""
    return Text(f"{value:5.1f}", style=style)


def _rate(value: Any) -> str:
    if value is None:
        return "-"
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000:
            return f"{value:5.1f} {unit}/s"
        value /= 1000
    return f"{value:5.1f} TB/s"


def _age(when: str | None, now: datetime) -> str:
    if not when:
        return "never"
    seconds = (now - datetime.fromisoformat(when)).total_seconds()
    return f"{seconds:4.0f} s ago" if seconds < 120 else f"{seconds / 60:4.0f} min ago"


def render_hosts(page: dict[str, Any] | None, *, header: str, max_rows: int) -> Group:
    """A header, a summary line and one row per host (the busiest first), at most ``max_rows``."""
    if page is None:
        return Group(Text(header, style="bold"))
    items: list[dict[str, Any]] = page["items"]
    counts = {s: sum(1 for h in items if h["status"] == s) for s in _STATUS_STYLE}
    summary = Text.assemble(
        (f"{page['total']} hosts  ", "bold"),
        *((f"{n} {s}  ", _STATUS_STYLE[s]) for s, n in counts.items() if n or s != "pending"),
    )

    def busiest(host: dict[str, Any]) -> float:
        latest = host.get("latest") or {}
        return max((latest.get(m) or 0.0) for m, _ in _UTIL)

    table = Table(expand=False, header_style="bold cyan")
    for title in ("host", "role", "status", *(t for _, t in _UTIL), "load1", "net in", "net out", "seen"):
        table.add_column(title, justify="left" if title in {"host", "role", "status", "seen"} else "right")
    now = datetime.now(UTC)
    for host in sorted(items, key=busiest, reverse=True)[:max_rows]:
        latest = host.get("latest") or {}
        load1 = latest.get("load1")
        table.add_row(
            host["host_id"],
            host.get("role") or "-",
            Text(host["status"], style=_STATUS_STYLE.get(host["status"], "")),
            *(_pct(latest.get(m)) for m, _ in _UTIL),
            "-" if load1 is None else f"{load1:.2f}",
            _rate(latest.get("network_in")),
            _rate(latest.get("network_out")),
            _age(host.get("last_seen"), now),
        )
    hidden = len(items) - min(len(items), max_rows)
    footer = Text(f"... and {hidden} more (busiest shown first)", style="dim") if hidden else Text("")
    return Group(Text(header, style="bold"), summary, table, footer)
