"""Host facts (:class:`agent.wire.HostFacts`) read from a system source."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from agent import wire

if TYPE_CHECKING:
    from agent.source import SystemSource

__all__ = ["clean_metrics", "collect_facts"]

_UTILISATION = frozenset(wire.UTILISATION_METRICS)
_KNOWN = frozenset(wire.METRIC_NAMES)


def collect_facts(source: SystemSource) -> wire.HostFacts:
    """Read the slow-changing facts of the host behind ``source``."""
    info = source.host_info()
    return wire.HostFacts(
        hostname=info.hostname,
        os=info.os,
        os_release=info.os_release,
        kernel=info.kernel,
        arch=info.arch,
        cpu_cores=max(0, info.cpu_cores),
        memory_bytes=max(0, source.memory().total),
        swap_bytes=max(0, source.swap().total),
        # The kernel derives boot time from the wall clock, which jitters by a second: round it so the
        # facts do not "change" (and get re-sent) at every tick.
        boot_time=float(max(0, round(source.boot_time()))),
    )


def _clean(name: str, value: float) -> float | None:
    if not math.isfinite(value) or value < 0:
        return None
    if name in _UTILISATION or name == "mounts":
        return min(100.0, value)
    return value


def clean_metrics(reading: Mapping[str, Any]) -> dict[str, Any]:
    """Keep what the wire accepts: known metrics, finite, >= 0, utilisation clamped to 100.

    Simulated and real readings both pass through here, so one odd value (a rounding error of
    100.0000001 %, a NaN from a buggy plugin) costs that value, never the whole sample.
    """
    out: dict[str, Any] = {}
    for name, value in reading.items():
        if value is None:
            continue
        if name == "mounts" and isinstance(value, Mapping):
            mounts = {str(k): c for k, v in value.items() if (c := _clean("mounts", float(v))) is not None}
            if mounts:
                out["mounts"] = mounts
        elif name in _KNOWN and isinstance(value, int | float) and not isinstance(value, bool):
            cleaned = _clean(name, float(value))
            if cleaned is not None:
                out[name] = cleaned
    return out
