"""The simulated host's per-sample hot path (about 10 µs a sample in CPython: keep it lean).

Locals instead of attributes, one table lookup for the diurnal load, noise from a fixed normal table,
and the episode machinery touched only while an episode is active.
"""

from __future__ import annotations

import heapq
import math

from agent.simulation._base import HostBase, coefficients
from agent.simulation._rng import NORMAL, NORMAL_BITS
from agent.simulation.episodes import EpisodeRecord
from agent.simulation.roles import MINUTES_PER_WEEK

__all__ = ["SimulatedHost"]

_SOFT_CAP = 93.0  # a running job's CPU is compressed above this (jobs are niced, never saturate)...
_SOFT_ROOM = 1.4  # ...and approaches _SOFT_CAP + _SOFT_ROOM < 95 % however much else competes
_PRESSURE = 92.0  # memory percent above which reclaim and swap slow the rise...
_PRESSURE_ROOM = 2.8  # ...towards _PRESSURE + _PRESSURE_ROOM


class SimulatedHost(HostBase):
    """A host of the simulated fleet. Deterministic for ``(seed, index)``; see the package docstring."""

    def _advance(self, ts: float) -> None:
        for episode in self._schedule.due(ts, self):
            self.episode_log.append(episode.record())
            if episode.restart_at is not None:
                heapq.heappush(self._restarts, episode.restart_at)
            self._active.append(episode)
        self._active = [e for e in self._active if e.end > ts]
        while self._restarts and self._restarts[0] <= ts:
            self._last_restart = max(self._last_restart, heapq.heappop(self._restarts))
        ends = [e.end for e in self._active]
        if self._restarts:
            ends.append(self._restarts[0])
        self._next_check = min([self._schedule.next_ts, *ends])

    def planned(self, until: float) -> list[EpisodeRecord]:
        """Every episode of this host starting at or before ``until``, without sampling (a fresh replay).

        The schedule does not depend on sampling, so this is what :meth:`sample_at` calls live through.
        """
        clone = SimulatedHost(self.index, self.seed, self._origin, self.config)
        clone._advance(until)
        return clone.episode_log

    def sample_at(self, ts: float) -> dict[str, float]:
        """Advance the host to ``ts`` (epoch seconds, non-decreasing) and return every wire metric.

        Raises:
            ValueError: ``ts`` is earlier than the previous call's.
        """
        last = self._ts
        if ts < last:
            raise ValueError(f"{self.host_id}: sample_at({ts}) after sample_at({last})")
        if ts >= self._next_check:
            self._advance(ts)
        dt = ts - last if last > -math.inf else 0.0
        self._ts = ts
        if dt != self._dt:
            self._dt = dt
            self._k = coefficients(dt)
        pc, sc, pm, sm, pn, sn, pi, si, pp, sp, pw, sw, a1, a5, a15, up, down = self._k
        bits, normal = self._bits, NORMAL
        nc = self._nc = self._nc * pc + sc * normal[bits(NORMAL_BITS)]
        nm = self._nm = self._nm * pm + sm * normal[bits(NORMAL_BITS)]
        nn = self._nn = self._nn * pn + sn * normal[bits(NORMAL_BITS)]
        ni = self._ni = self._ni * pi + si * normal[bits(NORMAL_BITS)]
        npr = self._np = self._np * pp + sp * normal[bits(NORMAL_BITS)]
        nw = self._nw = self._nw * pw + sw * normal[bits(NORMAL_BITS)]

        # Noise-free levels.
        local = ts + self._tz
        day = int(local // 86400.0)
        if day != self._day:
            self._day = day
            self._amp = self._day_amp(day)
        traffic = self._table[(int(local // 60.0) + self._shift) % MINUTES_PER_WEEK] * self._amp
        traffic *= (1.0 + self._growth * (ts - self._origin)) * (1.0 + 0.08 * nw)
        if traffic < 0.0:
            traffic = 0.0
        tcpu = self._cpu_traffic * traffic
        mem_det = self._mem_cap or self._mem_base + self._mem_traffic * traffic
        since = ts - self._last_restart
        if since < self._warm_span:
            mem_det -= (mem_det - self._mem_os) * self._warm_drop * math.exp(-since / self._warm_tau)
        disk_det = self._disk_base + self._disk_log * ((local - self._rotation) % 86400.0) / 86400.0
        disk_det += ((ts - self._origin) * self._disk_trend) % self._disk_wrap

        # Episodes.
        if self._active:
            self.cpu_det, self.traffic_cpu = self.cpu_idle + tcpu, tcpu
            self.mem_det, self.disk_det = mem_det, disk_det
            fx = self._fx
            fx.reset()
            for episode in self._active:
                episode.apply(ts, self, fx)
            f_traffic, a_cpu, a_soft, a_mem, a_disk, a_io = (
                fx.traffic,
                fx.cpu,
                fx.cpu_soft,
                fx.mem,
                fx.disk,
                fx.io,
            )
            a_stuck, a_stuck_level, job = fx.stuck, fx.stuck_level, fx.job_level
            a_procs, a_swap, a_load, gc, stress = fx.procs, fx.swap, fx.load, fx.gc, fx.stress
            f_cpu, f_mem, f_disk = fx.cpu_floor, fx.mem_floor, fx.disk_floor
        else:
            f_traffic, a_cpu, a_soft, a_mem, a_disk, a_io = 1.0, 0.0, 0.0, 0.0, 0.0, 0.0
            a_stuck = a_stuck_level = job = 0.0
            a_procs = a_swap = a_load = gc = f_cpu = f_mem = f_disk = 0.0
            stress = False

        # CPU: demand may exceed 100 (saturation); the reading cannot. A running job's demand (and whatever
        # competes with it, noise included) is soft-capped under the threshold; stuck processes then drive the
        # CPU to their own level, and on a host without a job they simply add up.
        demand = self.cpu_idle + tcpu * f_traffic
        if job > demand:
            demand = job
        demand += a_soft + self._cpu_noise * nc
        if stress:
            if demand > _SOFT_CAP:  # approaches _SOFT_CAP + _SOFT_ROOM, never reaches it
                over = demand - _SOFT_CAP
                demand = _SOFT_CAP + _SOFT_ROOM * over / (over + _SOFT_ROOM)
            if a_stuck_level > demand:
                demand = a_stuck_level + self._cpu_noise * nc
            # The CPU reading is pinned by the job, but stuck processes still wait in the run queue.
            a_load += a_stuck * self.cores * 0.009
        else:
            demand += a_stuck
        demand += a_cpu
        if demand >= 99.0:
            cpu = 100.0 - 0.8 * abs(normal[bits(NORMAL_BITS)])
        else:
            cpu = demand if demand > 0.3 else 0.3
        if f_cpu > cpu:
            cpu = f_cpu + (100.0 - f_cpu) * self._rand()

        # Memory (JVM roles: a heap sawtooth, faster as a leak fills the heap), swap, disk.
        # Memory pressure: above _PRESSURE, reclaim and swap-out slow the rise, which approaches
        # _PRESSURE + _PRESSURE_ROOM (< 95 %) while the excess goes to swap. Only the OOM phase of a leak
        # and brief spikes (floors) read 95 % or more.
        mem = mem_det + a_mem + self._mem_noise * nm
        if self._gc_amp:
            self._gc_phase = (self._gc_phase + dt / (self._gc_period * (1.0 - 0.6 * gc))) % 1.0
            mem += self._gc_amp * (self._gc_phase - 0.5) * (1.0 - 0.5 * gc)
        excess = 0.0
        if mem > _PRESSURE:
            visible = _PRESSURE + _PRESSURE_ROOM * (1.0 - math.exp((_PRESSURE - mem) / _PRESSURE_ROOM))
            excess, mem = mem - visible, visible
        if f_mem > mem:
            mem = f_mem + (99.6 - f_mem) * self._rand()
        mem = 100.0 if mem > 100.0 else (1.0 if mem < 1.0 else mem)
        target = self._swap_base + a_swap + self._swap_gain * excess
        swap = self._swap
        swap += (target - swap) * (up if target > swap else down)
        swap = 100.0 if swap > 100.0 else swap
        swap_io = (swap - self._swap) * self._swap_bytes / (100.0 * dt) if swap > self._swap else 0.0
        self._swap = swap
        disk = disk_det + a_disk + self._disk_churn * npr  # temp files, WAL segments, caches come and go
        if f_disk > disk:
            disk = f_disk + (100.0 - f_disk) * self._rand()
        disk = 100.0 if disk > 100.0 else (0.0 if disk < 0.0 else disk)

        # Traffic-driven rates: what is served (a saturated host serves less than is asked).
        served = traffic * f_traffic * (100.0 / demand if demand > 100.0 else 1.0)
        net_in = self._net_base + self._net_peak * served * (1.0 + 0.12 * nn)
        net_out = 0.5 * self._net_base + self._net_peak * self._net_ratio * served * (1.0 + 0.1 * nn)
        io = (self._io_base + self._io_traffic * served) * (1.0 + 0.25 * ni) + a_io + swap_io
        io = io if io > 0.0 else 0.0
        procs = round(self._procs_base + self._procs_traffic * served + a_procs + 2.0 * npr)

        # Load averages: exponentially damped run queue, as the kernel computes them.
        run = self.cores * (demand if demand > 0.0 else 0.0) * 0.009 + a_load + self._io_wait * io
        loads = self._loads
        if loads is None:
            loads = self._loads = [run, run, run]
        else:
            loads[0] += (run - loads[0]) * a1
            loads[1] += (run - loads[1]) * a5
            loads[2] += (run - loads[2]) * a15
        return {
            "cpu_util": cpu,
            "mem_util": mem,
            "swap_util": min(100.0, max(0.0, swap + self._swap_wander * nm)),
            "disk_util": disk,
            "disk_io": io,
            "disk_iops": io / self._io_size,
            "network_in": net_in if net_in > 0.0 else 0.0,
            "network_out": net_out if net_out > 0.0 else 0.0,
            "active_processes": float(procs if procs > 1 else 1),
            "load1": round(loads[0], 2),
            "load5": round(loads[1], 2),
            "load15": round(loads[2], 2),
        }
