"""The demo's hosts table: whole cells on a narrow terminal, every column on a wide one."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from controlplane.demo_view import render_hosts

NOW = datetime.now(UTC).isoformat()
LATEST = {
    "cpu_util": 97.5,
    "mem_util": 61.2,
    "disk_util": 40.0,
    "swap_util": 3.0,
    "load1": 1.25,
    "network_in": 1_234_567.0,
    "network_out": 45_678.0,
}
PAGE = {
    "total": 3,
    "items": [
        {"host_id": "sim-web-0001", "role": "web", "status": "up", "last_seen": NOW, "latest": LATEST},
        {"host_id": "sim-batch-0002", "role": "batch", "status": "stale", "last_seen": NOW, "latest": LATEST},
        {"host_id": "vm", "role": None, "status": "pending", "last_seen": None, "latest": None},
    ],
}


def rendered(width: int) -> str:
    out = io.StringIO()
    console = Console(width=width, file=out, color_system=None, legacy_windows=False)
    console.print(render_hosts(PAGE, header="CloudSense demo", max_rows=10, width=width))
    return out.getvalue()


def test_a_narrow_terminal_drops_columns_instead_of_squeezing_cells() -> None:
    text = rendered(80)
    assert max(len(line) for line in text.splitlines()) <= 80
    for whole in ("sim-web-0001", "sim-batch-0002", "pending", "97.5", "CPU %", "MEM %", "DISK %"):
        assert whole in text, whole
    assert "net out" not in text
    assert "1 pending" in text and "0 down" in text


def test_a_wide_terminal_shows_every_column() -> None:
    text = rendered(200)
    for title in ("host", "role", "status", "SWAP %", "load1", "net in", "net out", "seen", "1.2 MB/s"):
        assert title in text, title
