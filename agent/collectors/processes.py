"""``active_processes``: the number of processes on the host."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from agent.collectors.base import BaseCollector, Reading

if TYPE_CHECKING:
    from agent.source import SystemSource

__all__ = ["ProcessesCollector"]


class ProcessesCollector(BaseCollector):
    """Counts processes (a runaway fork shows here long before memory runs out)."""

    name: ClassVar[str] = "processes"

    def collect(self, source: SystemSource) -> Reading:
        """Return ``active_processes``."""
        return {"active_processes": float(source.process_count())}
