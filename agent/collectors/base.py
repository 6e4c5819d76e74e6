"""The collector protocol and the counter-delta logic every rate is computed with.

A collector reads a :class:`~agent.source.SystemSource` and returns a :data:`Reading`: some fields of
:class:`agent.wire.Sample` (``cpu_util``, ``mounts``...). The runner merges the readings of all collectors
into one sample per tick, so unlike Telegraf's accumulator a collector never builds a sample itself.

Rates come from :class:`CounterDeltas`, which survives the three ways a counter lies:

* **wrap**: a 32-bit kernel counter passes 2**32 and restarts near 0; the delta goes "the short way round";
* **reset**: the host rebooted (boot time moved by more than the wall clock did) or a counter decreased
  without wrapping (a driver reloaded, a disk re-plugged): no rate for that counter this time;
* **clock step**: elapsed time is measured on the monotonic clock, never the wall clock.

A first observation yields no rate (``None``), never a spike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Protocol, TypeAlias, runtime_checkable

if TYPE_CHECKING:
    from agent.settings import AgentSettings
    from agent.source import SystemSource

__all__ = ["BaseCollector", "Clock", "Collector", "CounterDeltas", "Reading"]

Reading: TypeAlias = dict[str, float | dict[str, float] | None]
"""Fields of :class:`agent.wire.Sample` (without ``seq`` and ``ts``); ``None``: not measured this time."""

# A boot-time change larger than the wall-clock step plus this is a reboot (the kernel's btime is
# derived from the wall clock, so an NTP step moves it by exactly the step).
_BOOT_TOLERANCE_SECONDS = 2.0
_WRAP_MODULI = (2**32, 2**64)


@runtime_checkable
class Collector(Protocol):
    """A metric collector, registered under the entry-point group ``cloudsense.collectors``."""

    name: ClassVar[str]
    """Entry-point name (``cpu``, ``disk``...)."""

    def collect(self, source: SystemSource) -> Reading:
        """Read the source and return this collector's fields of the sample."""
        ...


class BaseCollector:
    """Convenience base: keeps the settings section (construction has no side effects)."""

    name: ClassVar[str] = ""

    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings


class Clock(NamedTuple):
    """The three clocks read together with a set of counters."""

    monotonic: float
    """Monotonic seconds."""
    wall: float
    """Unix time."""
    boot_time: float
    """Unix time of the last boot."""

    @classmethod
    def read(cls, source: SystemSource) -> Clock:
        """Read the clocks of a source."""
        return cls(source.monotonic(), source.wall_time(), source.boot_time())


def _increase(prev: float, value: float, allow_wrap: bool) -> float | None:
    if value >= prev:
        return value - prev
    if allow_wrap:
        for modulus in _WRAP_MODULI:
            if prev < modulus and value < modulus:
                wrapped = modulus - prev + value
                if wrapped < modulus / 2:
                    return wrapped
    return None


class CounterDeltas:
    """Increases of a set of named cumulative counters between two observations.

    Args:
        allow_wrap: whether a decrease may be a wrap of a 32/64-bit counter (not for CPU seconds).
    """

    def __init__(self, *, allow_wrap: bool = True) -> None:
        self._allow_wrap = allow_wrap
        self._prev: dict[str, float] = {}
        self._clock: Clock | None = None

    def observe(self, counters: Mapping[str, float], clock: Clock) -> tuple[dict[str, float], float] | None:
        """Record ``counters`` and return the increase of each since the previous call.

        Args:
            counters: current cumulative values by name.
            clock: the clocks read with the counters.

        Returns:
            ``(increase by name, elapsed monotonic seconds)``, where counters that are new or were reset
            are absent; ``None`` on the first call, after a reboot, or when no time elapsed.
        """
        prev_clock, prev = self._clock, self._prev
        self._clock, self._prev = clock, dict(counters)
        if prev_clock is None:
            return None
        elapsed = clock.monotonic - prev_clock.monotonic
        if elapsed <= 0:
            return None
        wall_step = (clock.wall - clock.monotonic) - (prev_clock.wall - prev_clock.monotonic)
        if abs((clock.boot_time - prev_clock.boot_time) - wall_step) > _BOOT_TOLERANCE_SECONDS:
            return None  # rebooted (or a VM restored): every counter restarted
        deltas: dict[str, float] = {}
        for name, value in counters.items():
            if name in prev:
                inc = _increase(prev[name], value, self._allow_wrap)
                if inc is not None:
                    deltas[name] = inc
        return deltas, elapsed
