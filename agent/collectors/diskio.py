"""``disk_io`` (read + write bytes/s) and ``disk_iops`` (read + write operations/s), whole disks only."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from agent.collectors.base import BaseCollector, Clock, CounterDeltas, Reading

if TYPE_CHECKING:
    from agent.settings import AgentSettings
    from agent.source import SystemSource

__all__ = ["DiskIOCollector"]


class DiskIOCollector(BaseCollector):
    """Sums the per-device rates of the devices not matched by ``diskio_device_exclude``."""

    name: ClassVar[str] = "diskio"

    def __init__(self, settings: AgentSettings) -> None:
        super().__init__(settings)
        self._exclude = re.compile(settings.diskio_device_exclude) if settings.diskio_device_exclude else None
        self._deltas = CounterDeltas()

    def collect(self, source: SystemSource) -> Reading:
        """Return ``disk_io`` and ``disk_iops`` (``None`` on the first tick and after a reboot)."""
        counters: dict[str, float] = {}
        for dev, c in source.disk_counters().items():
            if self._exclude is not None and self._exclude.search(dev):
                continue
            counters[f"{dev}\0rb"] = c.read_bytes
            counters[f"{dev}\0wb"] = c.write_bytes
            counters[f"{dev}\0rc"] = c.read_count
            counters[f"{dev}\0wc"] = c.write_count
        observed = self._deltas.observe(counters, Clock.read(source))
        if observed is None:
            return {"disk_io": None, "disk_iops": None}
        deltas, elapsed = observed
        io = sum(v for k, v in deltas.items() if k.endswith(("\0rb", "\0wb")))
        ops = sum(v for k, v in deltas.items() if k.endswith(("\0rc", "\0wc")))
        return {"disk_io": io / elapsed, "disk_iops": ops / elapsed}
