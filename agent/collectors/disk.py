"""``disk_util`` and ``mounts``: space used on every real mount, and the fullest of them."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from agent.collectors.base import BaseCollector, Reading

if TYPE_CHECKING:
    from agent.settings import AgentSettings
    from agent.source import SystemSource

__all__ = ["DiskCollector"]


class DiskCollector(BaseCollector):
    """Percent used as ``df`` shows it: ``used / (used + free)`` (blocks reserved for root excluded).

    A mount is real unless its file-system type is in ``disk_ignore_fstypes`` or its size is 0.
    Bind mounts and subvolumes of one device with identical usage count once, under the shortest path.
    """

    name: ClassVar[str] = "disk"

    def __init__(self, settings: AgentSettings) -> None:
        super().__init__(settings)
        self._ignore = frozenset(settings.disk_ignore_fstypes)

    def collect(self, source: SystemSource) -> Reading:
        """Return ``mounts`` (percent by mountpoint) and ``disk_util`` (their maximum)."""
        seen: dict[tuple[str, int, int], str] = {}
        mounts: dict[str, float] = {}
        for part in sorted(source.partitions(), key=lambda p: (len(p.mountpoint), p.mountpoint)):
            if part.fstype in self._ignore or part.mountpoint in mounts:
                continue
            try:
                usage = source.disk_usage(part.mountpoint)
            except OSError:
                continue  # vanished, permission denied, stale network mount
            if usage.total <= 0 or usage.used + usage.free <= 0:
                continue
            key = (part.device, usage.total, usage.used)
            if key in seen:
                continue
            seen[key] = part.mountpoint
            mounts[part.mountpoint] = min(100.0, max(0.0, 100.0 * usage.used / (usage.used + usage.free)))
        if not mounts:
            return {"disk_util": None, "mounts": None}
        return {"disk_util": max(mounts.values()), "mounts": mounts}
