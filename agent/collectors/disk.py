"""``disk_util`` and ``mounts``: space used on every real mount, and the fullest of them."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, ClassVar

from agent.collectors.base import BaseCollector, Reading
from agent.log import get_logger

if TYPE_CHECKING:
    from agent.settings import AgentSettings
    from agent.source import DiskUsage, SystemSource

__all__ = ["DiskCollector"]

log = get_logger(__name__)


class _Call:
    """One ``statvfs`` of a mount, in a thread of its own so that the collector can stop waiting for it."""

    def __init__(self, source: SystemSource, mountpoint: str) -> None:
        self.done = threading.Event()
        self.usage: DiskUsage | None = None  # None when the call failed (OSError)
        self._source, self._mountpoint = source, mountpoint
        threading.Thread(target=self._run, name=f"statvfs {mountpoint}", daemon=True).start()

    def _run(self) -> None:
        try:
            self.usage = self._source.disk_usage(self._mountpoint)
        except OSError:
            pass  # vanished, permission denied, stale network mount: no usage
        finally:
            self.done.set()


class DiskCollector(BaseCollector):
    """Percent used as ``df`` shows it: ``used / (used + free)`` (blocks reserved for root excluded).

    A mount is real unless its file-system type is in ``disk_ignore_fstypes`` or its size is 0.
    Bind mounts and subvolumes of one device with identical usage count once, under the shortest path.

    A mount whose ``statvfs`` does not answer within ``disk_mount_timeout_seconds`` (an NFS server gone, a
    hung FUSE daemon: the call then blocks in the kernel, and no signal ends it) is left out of this and
    every later reading until that call returns, as node_exporter does with its stuck mounts: the collection
    never hangs on it, and it holds at most one blocked thread per mount.
    """

    name: ClassVar[str] = "disk"

    def __init__(self, settings: AgentSettings) -> None:
        super().__init__(settings)
        self._ignore = frozenset(settings.disk_ignore_fstypes)
        self._timeout = settings.disk_mount_timeout_seconds
        self._stuck: dict[str, _Call] = {}

    def _usage(self, source: SystemSource, mountpoint: str) -> DiskUsage | None:
        """The mount's usage, or ``None`` if it cannot be read or is (still) stuck."""
        stuck = self._stuck.get(mountpoint)
        if stuck is not None:
            if not stuck.done.is_set():
                return None
            del self._stuck[mountpoint]
            log.warning("mount_recovered", mountpoint=mountpoint)
        call = _Call(source, mountpoint)
        if not call.done.wait(self._timeout):
            self._stuck[mountpoint] = call
            log.error("mount_stuck", mountpoint=mountpoint, timeout_seconds=self._timeout)
            return None
        return call.usage  # None on OSError: vanished, permission denied, stale network mount

    @property
    def stuck_mounts(self) -> list[str]:
        """Mounts whose last ``statvfs`` has not returned."""
        return sorted(m for m, call in self._stuck.items() if not call.done.is_set())

    def collect(self, source: SystemSource) -> Reading:
        """Return ``mounts`` (percent by mountpoint) and ``disk_util`` (their maximum)."""
        seen: dict[tuple[str, int, int], str] = {}
        mounts: dict[str, float] = {}
        for part in sorted(source.partitions(), key=lambda p: (len(p.mountpoint), p.mountpoint)):
            if part.fstype in self._ignore or part.mountpoint in mounts:
                continue
            usage = self._usage(source, part.mountpoint)
            if usage is None:
                continue
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
