"""Deterministic random streams and the small numeric helpers of the simulation."""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from typing import Final

__all__ = ["NORMAL", "NORMAL_BITS", "interp", "invert", "loguniform", "stream", "uniform"]

NORMAL_BITS: Final = 13
# A fixed table of standard normal draws: ``NORMAL[rng.getrandbits(13)]`` costs one C call, where
# ``rng.gauss()`` is pure Python (the hot path draws six per sample).
_TABLE_RNG = random.Random(20261126)
NORMAL: Final[tuple[float, ...]] = tuple(_TABLE_RNG.gauss(0.0, 1.0) for _ in range(1 << NORMAL_BITS))
del _TABLE_RNG


def stream(seed: int, index: int, name: str) -> random.Random:
    """An independent generator for one purpose of one host (a string seed is hashed with SHA-512)."""
    return random.Random(f"cloudsense-sim/{seed}/{index}/{name}")


def uniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    """Uniform draw in ``bounds``."""
    return rng.uniform(bounds[0], bounds[1])


def loguniform(rng: random.Random, bounds: tuple[float, float]) -> float:
    """Log-uniform draw in ``bounds`` (both > 0): as many short as long durations per octave."""
    return math.exp(rng.uniform(math.log(bounds[0]), math.log(bounds[1])))


def interp(xs: list[float], ys: list[float], x: float) -> float:
    """Piecewise-linear interpolation through the knots ``(xs, ys)`` (``xs`` increasing), clamped."""
    i = bisect_right(xs, x)
    if i <= 0:
        return ys[0]
    if i >= len(xs):
        return ys[-1]
    x0 = xs[i - 1]
    y0 = ys[i - 1]
    return y0 + (ys[i] - y0) * (x - x0) / (xs[i] - x0)


def invert(xs: list[float], ys: list[float], y: float) -> float:
    """The first ``x`` at which the non-decreasing knot curve reaches ``y`` (clamped to the ends)."""
    if y <= ys[0]:
        return xs[0]
    for i in range(1, len(xs)):
        if ys[i] >= y:
            span = ys[i] - ys[i - 1]
            return xs[i] if span <= 0 else xs[i - 1] + (xs[i] - xs[i - 1]) * (y - ys[i - 1]) / span
    return xs[-1]
