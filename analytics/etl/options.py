"""Knobs of the ETL's data-quality and resampling steps, and the choice of the uniform step."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass, field

from analytics.features import lookback_rows
from analytics.features.online import FILL_SECONDS, default_fill_limit
from analytics.sampling import parse_count

__all__ = ["NICE_STEPS", "EtlOptions", "add_column_argument", "add_sample_hosts_argument", "choose_step"]

NICE_STEPS: tuple[int, ...] = (60, 120, 180, 300, 600, 900, 1200, 1800, 3600)
"""Steps the automatic choice snaps to (multiples of 60 s that people use for telemetry)."""

MIN_TIMESTAMP = 946_684_800
"""2000-01-01T00:00:00Z: anything earlier is not a telemetry timestamp (a unit or clock error)."""


@dataclass(frozen=True, slots=True)
class EtlOptions:
    """How the ETL cleans and resamples; the defaults suit 10 s to 5 min telemetry."""

    step_seconds: int | None = None
    """Uniform step; ``None`` = the median interval of the data snapped to :data:`NICE_STEPS`."""
    fill_seconds: int = FILL_SECONDS
    """Gaps up to this long (and per-metric holes) are forward-filled; at least one step is always filled."""
    max_future_seconds: int = 3600
    """Samples stamped further than this ahead of the ETL's clock are dropped (``future_timestamp``)."""
    now: int | None = None
    """The ETL's clock, epoch seconds (``None``: the wall clock; tests pin it)."""
    columns: dict[str, str] = field(default_factory=dict)
    """Columns added or replaced before anything else, ``{name: Spark SQL expression over the input's own
    columns}``: how a real trace's names and units become the canonical schema."""
    sample_hosts: int | None = None
    """Keep only this many hosts, a seeded random sample (:mod:`analytics.sampling`), right after
    :attr:`columns`: a trace too large to featurise whole in reasonable time. ``None``: every host."""
    max_rows: int | None = None
    """Keep at most this many input rows, as a seeded random sample of whole hosts (the same order as
    :attr:`sample_hosts`, with which it combines): ``evaluate`` and ``backtest`` set it to the rows that the
    loader after the ETL can hold, so that no host is featurised only to be left out. ``None``: no limit."""
    sample_automatic: bool = False
    """:attr:`max_rows` is the memory's budget, not one a user gave (the report words it so)."""
    sample_seed: int = 0
    """Seed of the sample."""

    def fill_limit(self, step_seconds: int) -> int:
        """Forward-fill limit in rows on ``step_seconds`` (the same rule as online scoring's)."""
        return default_fill_limit(step_seconds, self.fill_seconds)

    def gap_rows(self, step_seconds: int) -> int:
        """Empty rows that stand for a long gap: enough that no feature window reaches across it."""
        return max(lookback_rows(step_seconds), self.fill_limit(step_seconds) + 1)


def choose_step(median_interval_seconds: float | None) -> int:
    """Snap the data's median sampling interval to a sensible step.

    The interval is rounded to a multiple of 60 s (at least 60 s), then to the nearest of :data:`NICE_STEPS`
    on a log scale (so 250 s gives 300 s, 59-61 s give 60 s, 10 s data is aggregated to 60 s).

    Args:
        median_interval_seconds: Median positive interval between a host's consecutive samples
            (``None`` when there are none: 60 s).

    Returns:
        The step in seconds.
    """
    if median_interval_seconds is None or not math.isfinite(median_interval_seconds):
        return NICE_STEPS[0]
    rounded = max(60, round(median_interval_seconds / 60) * 60)
    if rounded >= NICE_STEPS[-1]:
        return int(rounded)
    return min(NICE_STEPS, key=lambda s: abs(math.log(s / rounded)))


def _column(text: str) -> tuple[str, str]:
    name, sep, expr = text.partition("=")
    if not sep or not name.strip() or not expr.strip():
        raise argparse.ArgumentTypeError(f"expected NAME=EXPRESSION, got {text!r}")
    return name.strip(), expr.strip()


def _host_count(text: str) -> int:
    hosts = parse_count(text)
    if hosts is None:
        raise argparse.ArgumentTypeError(f"expected a number of hosts (1 or more), got {text!r}")
    return hosts


def add_sample_hosts_argument(parser: argparse.ArgumentParser) -> None:
    """``--sample-hosts N``, the same for ``etl``, ``evaluate`` and ``backtest``."""
    parser.add_argument(
        "--sample-hosts",
        type=_host_count,
        default=None,
        metavar="N",
        help="featurise only N hosts, a seeded random sample taken before anything else (for a trace too "
        "large to featurise whole; the quality report counts the sampled hosts' rows)",
    )


def add_column_argument(parser: argparse.ArgumentParser) -> None:
    """``--column NAME=EXPR`` (repeatable), the same for ``etl``, ``evaluate`` and ``backtest``."""
    parser.add_argument(
        "--column",
        action="append",
        type=_column,
        default=[],
        metavar="NAME=EXPR",
        help="add or replace a column before the checks, by a Spark SQL expression over the input's own "
        "columns (repeatable): e.g. --column host_id=machine_id --column "
        "'mem_util=100 * `Memory usage [KB]` / `Memory capacity provisioned [KB]`'",
    )
