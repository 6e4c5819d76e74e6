"""Failure precursors: memory leak, filling disk, traffic surge, runaway processes.

Each may end in exhaustion (the resource held at 96-100 % for minutes, then a fix: OOM kill and restart,
cleanup, scale-out, kill) or stop short (restart at 85 %, log rotation at 90 %, a surge that recedes).
Speed, shape and outcome are drawn when the precursor starts (see :class:`PrecursorSettings`). Everything
a precursor does shows in metrics a real agent collects: memory and swap, disk usage and its write
throughput, CPU with network, load and worker processes, process counts.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from typing import TYPE_CHECKING

from agent.simulation._rng import interp, invert, loguniform, uniform
from agent.simulation.episodes import Episode, shape_knots

if TYPE_CHECKING:
    import random

    from agent.simulation.config import PrecursorSettings
    from agent.simulation.episodes import Effects, HostView

__all__ = ["DiskFill", "Leak", "Runaway", "Surge"]

MEM_TOP = 96.5
"""Memory percent held during the OOM phase (96.5-99.6 %)."""
LEAK_RAW_TOP = 99.0
"""What a leak asks for at its onset (percent of memory; the host's memory pressure shows ~94.5 % + swap)."""
DISK_TOP = 98.8
"""Disk percent a fill drives to (then the disk is full: 98.6-100 %)."""
SATURATED = 97.5
"""CPU floor while a surge or runaway holds the host saturated."""


def _outcome(rng: random.Random, cfg: PrecursorSettings) -> tuple[bool, bool, float]:
    """(ends in exhaustion, comes with little warning, lead seconds), always drawing the same numbers."""
    exhausts = rng.random() < cfg.exhaust_probability
    sudden = exhausts and rng.random() < cfg.sudden_fraction
    if not exhausts:
        return False, False, loguniform(rng, cfg.abort_lead_minutes) * 60.0
    return True, sudden, loguniform(rng, cfg.sudden_lead_minutes if sudden else cfg.lead_minutes) * 60.0


def _detail(shape: str, sudden: bool, exhausts: bool) -> str:
    return f"{shape}{'/sudden' if sudden else ''}{'' if exhausts else '/aborted'}"


class Leak(Episode):
    """Memory (and, past 80 %, swap) rising linearly, stepwise or faster and faster; GC busier; OOM."""

    __slots__ = ("lead", "t_on", "thrash_cpu", "thrash_io", "xs", "ys")
    kind = "leak"
    resource = "mem_util"

    def __init__(self, start: float, rng: random.Random, host: HostView, cfg: PrecursorSettings) -> None:
        exhausts, sudden, lead = _outcome(rng, cfg)
        shape = (
            "linear" if sudden else rng.choices(("linear", "stepwise", "accelerating"), (0.4, 0.4, 0.2))[0]
        )
        self.xs, self.ys = shape_knots(rng, shape)
        held = uniform(rng, cfg.held_minutes) * 60.0
        abort = uniform(rng, cfg.abort_level)
        self.thrash_cpu = rng.uniform(10.0, 30.0)
        self.thrash_io = rng.uniform(20e6, 150e6)
        self.lead = lead
        self.t_on = start + lead
        if exhausts:
            super().__init__(start, self.t_on + held, onset=self.t_on, detail=_detail(shape, sudden, True))
        else:
            ref = host.expected_mem(start)
            if ref > abort - 2.0:  # already near its abort level (a full cache): a small rise, then restart
                abort = min(91.0, ref + rng.uniform(1.5, 4.0))
            g = max(0.05, (abort - ref) / (LEAK_RAW_TOP - ref))
            u = max(0.2, invert(self.xs, self.ys, g))
            super().__init__(start, start + u * lead, detail=_detail(shape, False, False))
        self.restart_at = self.end  # OOM kill or the operator's restart

    def apply(self, ts: float, host: HostView, fx: Effects) -> None:
        """Pull memory up (slower near the top, swap filling instead); at the onset, OOM thrashing."""
        if ts < self.t_on:
            g = interp(self.xs, self.ys, (ts - self.start) / self.lead)
            fx.mem += (LEAK_RAW_TOP - host.mem_det) * g
            fx.gc = max(fx.gc, g)
            fx.cpu_soft += 4.0 * g * g
        else:
            fx.mem_floor = max(fx.mem_floor, MEM_TOP)
            fx.swap += 30.0
            fx.cpu += self.thrash_cpu
            fx.io += self.thrash_io
            fx.load += host.cores * 0.3


class DiskFill(Episode):
    """Logs (or dumps, temp files) filling the disk in bursts, each burst visible as write throughput."""

    __slots__ = ("bytes_total", "lead", "retry_io", "slopes", "t_on", "xs", "ys")
    kind = "disk_fill"
    resource = "disk_util"

    def __init__(self, start: float, rng: random.Random, host: HostView, cfg: PrecursorSettings) -> None:
        exhausts, sudden, lead = _outcome(rng, cfg)
        shape = (
            "linear" if sudden else rng.choices(("bursty", "accelerating", "stepwise"), (0.6, 0.25, 0.15))[0]
        )
        self.xs, self.ys = shape_knots(rng, shape)
        self.slopes = [0.0] + [
            (self.ys[i] - self.ys[i - 1]) / (self.xs[i] - self.xs[i - 1]) for i in range(1, len(self.xs))
        ]
        held = uniform(rng, cfg.held_minutes) * 60.0
        abort = uniform(rng, cfg.abort_level)
        self.retry_io = rng.uniform(0.2e6, 3e6)
        ref = host.expected_disk(start)
        self.bytes_total = max(DISK_TOP - ref, 1.0) / 100.0 * host.disk_bytes
        self.lead = lead
        self.t_on = start + lead
        if exhausts:
            super().__init__(start, self.t_on + held, onset=self.t_on, detail=_detail(shape, sudden, True))
        else:
            g = (abort - ref) / (DISK_TOP - ref) if ref < abort - 2.0 else rng.uniform(0.4, 0.7)
            u = max(0.2, invert(self.xs, self.ys, g))
            super().__init__(start, start + u * lead, detail=_detail(shape, False, False))

    def apply(self, ts: float, host: HostView, fx: Effects) -> None:
        """Grow the disk along the curve, writing at the curve's slope; once full, hold it full."""
        if ts < self.t_on:
            xs = self.xs
            u = (ts - self.start) / self.lead
            i = min(max(bisect_right(xs, u), 1), len(xs) - 1)
            slope = self.slopes[i]
            g = self.ys[i - 1] + slope * (u - xs[i - 1])
            fx.disk += (DISK_TOP - host.disk_det) * g
            fx.io += slope * self.bytes_total / self.lead
        else:
            fx.disk_floor = max(fx.disk_floor, 98.6)
            fx.io += self.retry_io


class Surge(Episode):
    """Traffic growing to saturation: CPU, network, load and workers together; then it recedes."""

    __slots__ = ("exhausts", "ramp", "recede", "t_down", "t_on", "t_top", "target", "xs", "ys")
    kind = "surge"
    resource = "cpu_util"

    def __init__(self, start: float, rng: random.Random, host: HostView, cfg: PrecursorSettings) -> None:
        exhausts, sudden, lead = _outcome(rng, cfg)
        shape = "linear" if sudden else ("accelerating" if exhausts else "concave")
        self.xs, self.ys = shape_knots(rng, shape)
        self.target = rng.uniform(112.0, 140.0) if exhausts else uniform(rng, cfg.abort_level)
        hold = (uniform(rng, cfg.held_minutes) if exhausts else rng.uniform(5.0, 25.0)) * 60.0
        self.recede = rng.uniform(10.0, 30.0) * 60.0
        self.exhausts = exhausts
        # The lead is the time to cross the threshold (the onset); demand keeps rising past it to the target.
        ramp = lead
        if exhausts:
            ref = host.expected_cpu(start)
            crossing = (95.0 - ref) / (self.target - ref) if self.target > ref + 5.0 else 0.5
            ramp = lead / max(0.3, invert(self.xs, self.ys, min(max(crossing, 0.05), 0.95)))
        self.ramp = ramp
        self.t_on = start + lead if exhausts else math.inf
        self.t_top = start + ramp
        self.t_down = self.t_top + hold
        super().__init__(
            start,
            self.t_down + self.recede,
            onset=start + lead if exhausts else None,
            detail=_detail(shape, sudden, exhausts),
        )

    def apply(self, ts: float, host: HostView, fx: Effects) -> None:
        """Scale traffic so that CPU demand moves towards the surge's target along its curve."""
        if ts >= self.t_on and ts < self.t_down:
            fx.cpu_floor = max(fx.cpu_floor, SATURATED)
        if ts < self.t_top:
            g = interp(self.xs, self.ys, (ts - self.start) / self.ramp)
        elif ts < self.t_down:
            g = 1.0
        else:
            g = max(0.0, 1.0 - (ts - self.t_down) / self.recede)
        traffic = max(host.traffic_cpu, 3.0)
        peak = (self.target - host.cpu_idle) / traffic
        if peak > 12.0:  # a quiet host: traffic alone would need an absurd multiple
            fx.cpu += (self.target - host.cpu_idle - traffic * 12.0) * g
            peak = 12.0
        if peak > 1.0:
            fx.traffic *= 1.0 + (peak - 1.0) * g


class Runaway(Episode):
    """Stuck jobs piling up (each a CPU step and a few processes), or one process spinning up in minutes."""

    __slots__ = ("cap", "cum_cpu", "cum_procs", "exhausts", "procs", "ramp", "ref", "step_ts")
    kind = "runaway"
    resource = "cpu_util"

    def __init__(self, start: float, rng: random.Random, host: HostView, cfg: PrecursorSettings) -> None:
        exhausts, sudden, lead = _outcome(rng, cfg)
        held = uniform(rng, cfg.held_minutes) * 60.0
        ref = host.expected_cpu(start)
        self.ref = ref
        # An aborted pile-up never takes the host past its abort level, whatever the traffic does.
        self.cap = math.inf
        self.exhausts = exhausts
        self.ramp = lead
        self.step_ts: list[float] = []
        self.cum_cpu = [0.0, max(118.0 - ref, 20.0)]
        self.procs = float(rng.randint(1, 30))
        self.cum_procs = [0.0]
        if sudden:
            super().__init__(start, start + lead + held, onset=start + lead, detail="spin/sudden")
            return
        # Stuck jobs come with their cron period (a few minutes for the ones that run away, hourly for
        # the slow ones that someone stops); the drawn lead sets how many pile up.
        period = rng.choice((5.0, 10.0, 15.0) if exhausts else (30.0, 60.0)) * 60.0 * rng.uniform(0.95, 1.05)
        steps = min(12, max(3, round(lead / period) + 1)) if exhausts else rng.randint(3, 5)
        lead = period * (steps - 1)
        self.ramp = lead
        # Exhausting: the last step (not an earlier one) takes the CPU over the threshold.
        if exhausts:
            need = (95.0 - ref) * steps / (steps - 0.7)
        else:
            self.cap = uniform(rng, cfg.abort_level)
            need = self.cap - ref
        need = max(need, rng.uniform(10.0, 20.0))
        sizes = [rng.uniform(0.9, 1.1) for _ in range(steps)]
        total = sum(sizes)
        self.cum_cpu = [0.0]
        for i, size in enumerate(sizes):
            jitter = rng.uniform(-0.05, 0.05) if 0 < i < steps - 1 else 0.0
            self.step_ts.append(start + lead * (i + jitter) / (steps - 1))
            self.cum_cpu.append(self.cum_cpu[-1] + need * size / total)
            self.cum_procs.append(self.cum_procs[-1] + rng.randint(2, 6))
        last = self.step_ts[-1]
        if exhausts:
            super().__init__(start, last + held, onset=last, detail="pileup")
        else:
            super().__init__(start, last + rng.uniform(10.0, 60.0) * 60.0, detail="pileup/aborted")

    def apply(self, ts: float, host: HostView, fx: Effects) -> None:
        """Add the stuck jobs' CPU and processes; once saturated, hold the CPU there until killed."""
        if self.step_ts:
            i = bisect_right(self.step_ts, ts)
            add = self.cum_cpu[i]
            fx.procs += self.cum_procs[i]
        else:
            u = min(1.0, (ts - self.start) / self.ramp)
            add = self.cum_cpu[1] * u
            fx.procs += self.procs * u
        add = min(add, max(0.0, self.cap - host.cpu_det))
        fx.stuck += add
        fx.stuck_level = max(fx.stuck_level, min(self.ref + add, self.cap))
        if self.exhausts and self.onset is not None and ts >= self.onset:
            fx.cpu_floor = max(fx.cpu_floor, SATURATED)
