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


# Dropped first when the terminal is too narrow for every column (an 80-column terminal squeezed them all).
_OPTIONAL = ("net out", "net in", "load1", "SWAP %", "role", "seen")


def _fit(columns: list[str], rows: list[list[Text]], width: int | None) -> list[int]:
    """Indices of the columns to show: all of them, or without the optional ones that do not fit ``width``."""
    widths = [
        max([len(title)] + [cell.cell_len for cell in (r[i] for r in rows)])
        for i, title in enumerate(columns)
    ]
    shown = list(range(len(columns)))
    for title in _OPTIONAL:
        if width is None or sum(widths[i] + 3 for i in shown) + 1 <= width:
            break
        shown.remove(columns.index(title))
    return shown


def render_hosts(
    page: dict[str, Any] | None, *, header: str, max_rows: int, width: int | None = None
) -> Group:
    """A header, a summary line and one row per host (the busiest first), at most ``max_rows``.

    ``width``: the terminal's; the least useful columns are left out rather than every column squeezed.
    """
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

    columns = ["host", "role", "status", *(t for _, t in _UTIL), "load1", "net in", "net out", "seen"]
    now = datetime.now(UTC)
    rows = []
    for host in sorted(items, key=busiest, reverse=True)[:max_rows]:
        latest = host.get("latest") or {}
        load1 = latest.get("load1")
        rows.append(
            [
                Text(host["host_id"]),
                Text(host.get("role") or "-"),
                Text(host["status"], style=_STATUS_STYLE.get(host["status"], "")),
                *(_pct(latest.get(m)) for m, _ in _UTIL),
                Text("-" if load1 is None else f"{load1:.2f}"),
                Text(_rate(latest.get("network_in"))),
                Text(_rate(latest.get("network_out"))),
                Text(_age(host.get("last_seen"), now)),
            ]
        )
    shown = _fit(columns, rows, width)
    table = Table(expand=False, header_style="bold cyan")
    for i in shown:
        title = columns[i]
        table.add_column(title, justify="left" if title in {"host", "role", "status", "seen"} else "right")
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    hidden = len(items) - min(len(items), max_rows)
    footer = Text(f"... and {hidden} more (busiest shown first)", style="dim") if hidden else Text("")
    return Group(Text(header, style="bold"), summary, table, footer)
