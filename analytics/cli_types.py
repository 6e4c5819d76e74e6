"""``argparse`` types for the analytics commands' numeric options.

A value out of range is refused by ``argparse`` itself (the usage line, the option and why, exit code 2)
before any work starts, instead of failing minutes later inside Spark, Optuna or numpy, or being quietly
replaced by a default. Counts may be written ``10000``, ``10,000`` or ``10_000``.
"""

from __future__ import annotations

import argparse
import math

from analytics.sampling import parse_count

__all__ = ["non_negative_int", "positive_float", "positive_int"]


def positive_int(text: str) -> int:
    """A whole number of 1 or more."""
    value = parse_count(text)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """A whole number of 0 or more (seeds, durations where 0 has a meaning)."""
    value = parse_count(text, minimum=0)
    if value is None:
        raise argparse.ArgumentTypeError(f"expected a whole number of 0 or more, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
    return value
