"""``cpu_util``: the share of CPU time not idle, all cores, from cumulative CPU times."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import msgspec

from agent.collectors.base import BaseCollector, Clock, CounterDeltas, Reading

if TYPE_CHECKING:
    from agent.settings import AgentSettings
    from agent.source import SystemSource

__all__ = ["CpuCollector"]

# Guest time is already counted in user/nice on Linux (psutil's cpu_percent does the same).
_NOT_IN_TOTAL = ("guest", "guest_nice")
_IDLE = ("idle", "iowait")


class CpuCollector(BaseCollector):
    """CPU busy percent between two ticks: ``(total - idle - iowait) / total``."""

    name: ClassVar[str] = "cpu"

    def __init__(self, settings: AgentSettings) -> None:
        super().__init__(settings)
        self._deltas = CounterDeltas(allow_wrap=False)

    def collect(self, source: SystemSource) -> Reading:
        """Return ``cpu_util`` (``None`` on the first tick and after a reset)."""
        times = msgspec.structs.asdict(source.cpu_times())
        observed = self._deltas.observe(times, Clock.read(source))
        if observed is None:
            return {"cpu_util": None}
        deltas, _elapsed = observed
        if len(deltas) != len(times):
            return {"cpu_util": None}  # some field went backwards: a reset
        total = sum(v for k, v in deltas.items() if k not in _NOT_IN_TOTAL)
        if total <= 0:
            return {"cpu_util": None}
        busy = total - sum(deltas[k] for k in _IDLE)
        return {"cpu_util": min(100.0, max(0.0, 100.0 * busy / total))}
