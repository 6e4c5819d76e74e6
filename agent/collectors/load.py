"""``load1``, ``load5``, ``load15``: the kernel's load averages."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from agent.collectors.base import BaseCollector, Reading

if TYPE_CHECKING:
    from agent.source import SystemSource

__all__ = ["LoadCollector"]


class LoadCollector(BaseCollector):
    """Load averages as the kernel reports them (not divided by the core count)."""

    name: ClassVar[str] = "load"

    def collect(self, source: SystemSource) -> Reading:
        """Return ``load1``, ``load5`` and ``load15``."""
        one, five, fifteen = source.load_avg()
        return {"load1": max(0.0, one), "load5": max(0.0, five), "load15": max(0.0, fifteen)}
