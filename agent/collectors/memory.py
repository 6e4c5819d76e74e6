"""``mem_util`` and ``swap_util``: memory and swap in use, percent."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from agent.collectors.base import BaseCollector, Reading

if TYPE_CHECKING:
    from agent.source import SystemSource

__all__ = ["MemoryCollector"]


class MemoryCollector(BaseCollector):
    """Memory in use is ``total - available`` (what the kernel could not hand out without swapping)."""

    name: ClassVar[str] = "memory"

    def collect(self, source: SystemSource) -> Reading:
        """Return ``mem_util`` and ``swap_util`` (0 on a host without swap)."""
        mem = source.memory()
        swap = source.swap()
        mem_util = None if mem.total <= 0 else 100.0 * (mem.total - mem.available) / mem.total
        swap_util = 0.0 if swap.total <= 0 else 100.0 * swap.used / swap.total
        return {
            "mem_util": None if mem_util is None else min(100.0, max(0.0, mem_util)),
            "swap_util": min(100.0, max(0.0, swap_util)),
        }
