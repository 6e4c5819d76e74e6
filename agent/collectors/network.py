"""``network_in`` and ``network_out``: bytes/s over every non-loopback interface."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, ClassVar

from agent.collectors.base import BaseCollector, Clock, CounterDeltas, Reading

if TYPE_CHECKING:
    from agent.settings import AgentSettings
    from agent.source import SystemSource

__all__ = ["NetworkCollector"]


class NetworkCollector(BaseCollector):
    """Sums the per-interface rates; loopback and ``network_interface_exclude`` matches are left out."""

    name: ClassVar[str] = "network"

    def __init__(self, settings: AgentSettings) -> None:
        super().__init__(settings)
        pattern = settings.network_interface_exclude
        self._exclude = re.compile(pattern) if pattern else None
        self._deltas = CounterDeltas()

    def collect(self, source: SystemSource) -> Reading:
        """Return ``network_in`` and ``network_out`` (``None`` on the first tick and after a reboot)."""
        loopback = source.loopback_nics()
        counters: dict[str, float] = {}
        for nic, c in source.nic_counters().items():
            if nic in loopback or (self._exclude is not None and self._exclude.search(nic)):
                continue
            counters[f"{nic}\0in"] = c.bytes_recv
            counters[f"{nic}\0out"] = c.bytes_sent
        observed = self._deltas.observe(counters, Clock.read(source))
        if observed is None:
            return {"network_in": None, "network_out": None}
        deltas, elapsed = observed
        received = sum(v for k, v in deltas.items() if k.endswith("\0in"))
        sent = sum(v for k, v in deltas.items() if k.endswith("\0out"))
        return {"network_in": received / elapsed, "network_out": sent / elapsed}
