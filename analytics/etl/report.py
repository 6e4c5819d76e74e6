"""The ETL's quality report: what came in, what was dropped or changed and why, what went out."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = ["DROP_REASONS", "QualityReport"]

DROP_REASONS: tuple[str, ...] = (
    "missing_key",
    "invalid_timestamp",
    "future_timestamp",
    "no_metrics",
    "duplicate",
)
"""Why a raw row is dropped: no host or timestamp; timestamp before 2000; timestamp in the future (beyond
the tolerance); no metric value left after the range checks; same (host, timestamp) as an earlier row."""


@dataclass(slots=True)
class QualityReport:
    """Counts of the data-quality and resampling steps (written as ``quality_report.json``)."""

    input: str = ""
    """What was read."""
    derived_columns: dict[str, str] = field(default_factory=dict)
    """Columns added or replaced by an expression before the checks (``--column NAME=EXPR``)."""
    sampled_hosts: dict[str, Any] | None = None
    """Set when only a sample of the hosts was read (``--sample-hosts``, or ``evaluate``/``backtest``'s row
    budget): ``hosts`` of ``of_hosts``, ``rows`` of ``of_rows`` (input rows), ``seed``, the limits
    ``max_hosts`` and ``max_rows`` (``None``: not set) and whether the row limit was the memory's
    (``automatic``). The counts below are then those of the sampled hosts' rows."""
    rows_read: int = 0
    """Raw rows in the input."""
    rows_kept: int = 0
    """Raw rows that passed every check (before resampling)."""
    dropped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(DROP_REASONS, 0))
    """Raw rows dropped, by reason (see :data:`DROP_REASONS`)."""
    non_finite_nulled: dict[str, int] = field(default_factory=dict)
    """Per metric: NaN or infinite values made missing (the row is kept)."""
    negative_nulled: dict[str, int] = field(default_factory=dict)
    """Per metric: negative values made missing (every metric is >= 0; the row is kept)."""
    clipped_above_100: dict[str, int] = field(default_factory=dict)
    """Per utilisation metric: values above 100 % clipped to 100 (container metrics exceed 100 %)."""
    dropped_timestamps: list[int] | None = None
    """Smallest and largest timestamp (epoch seconds, as read) of the rows dropped as ``invalid_timestamp`` or
    ``future_timestamp``: offsets from a trace's start show as small numbers."""
    timestamp_units: dict[str, int] = field(default_factory=dict)
    """Rows whose numeric timestamp was read as milliseconds, microseconds or nanoseconds (``ms``, ``us``,
    ``ns``) and converted to seconds; seconds are not listed."""
    missing_metrics: list[str] = field(default_factory=list)
    """Metric columns absent from the input (added as missing)."""
    ignored_columns: list[str] = field(default_factory=list)
    """Input columns that are not part of the schema (labels, extra metrics...)."""
    out_of_order_rows: int = 0
    """Rows whose timestamp is earlier than one read before it for the same host (clock steps, replays)."""
    hosts_with_backwards_timestamps: int = 0
    """Hosts with at least one such row."""
    max_backwards_seconds: int = 0
    """Largest backwards step seen."""
    median_interval_seconds: float | None = None
    """Median interval between a host's consecutive distinct timestamps."""
    step_seconds: int = 0
    """The uniform step of the output."""
    step_source: str = "auto"
    """``auto`` (from the median interval) or ``option``."""
    fill_limit_rows: int = 0
    """Longest run of missing steps (or of a metric's missing values) that is forward-filled."""
    buckets: int = 0
    """Observed steps after resampling (several samples in one step are averaged)."""
    rows_merged: int = 0
    """Raw rows averaged into a step together with another row."""
    short_gaps: int = 0
    """Runs of missing steps no longer than the fill limit (forward-filled)."""
    rows_filled: int = 0
    """Steps inserted into short gaps."""
    long_gaps: int = 0
    """Runs of missing steps longer than the fill limit (left as gaps; no feature reaches across)."""
    longest_gap_seconds: int = 0
    """Longest long gap: the largest interval between two consecutive output rows of a host."""
    output_rows: int = 0
    """Rows written."""
    hosts: int = 0
    """Hosts written."""
    first_timestamp: int | None = None
    """Earliest output timestamp."""
    last_timestamp: int | None = None
    """Latest output timestamp."""
    null_rates: dict[str, float] = field(default_factory=dict)
    """Per metric: share of output rows where it is missing."""
    label_rates: dict[str, float] = field(default_factory=dict)
    """Per label column: for ``label`` and ``label_<r>``, the share of positives among the onset rows (those
    not inside an episode: training and scoring read labels there only); for ``exhausted`` and
    ``exhausted_<r>``, the share of all output rows that are inside an episode."""
    warnings: list[str] = field(default_factory=list)
    """What looks wrong with the input although no rule drops it (utilisation given as a fraction, say)."""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    """When the report was made (UTC)."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dictionary."""
        return asdict(self)

    def to_json(self) -> str:
        """Indented JSON."""
        return json.dumps(self.to_dict(), indent=2, sort_keys=False)

    def summary(self) -> str:
        """A readable multi-line summary for the terminal."""
        dropped = sum(self.dropped.values())
        lines = [
            f"input            {self.input}",
            *[f"column           {k} = {v}" for k, v in self.derived_columns.items()],
            *([_sampled_line(self.sampled_hosts)] if self.sampled_hosts else []),
            f"rows read        {self.rows_read:,}",
            f"rows kept        {self.rows_kept:,}   dropped {dropped:,}"
            + "".join(f"  {k}={v:,}" for k, v in self.dropped.items() if v),
        ]
        for title, counts in (
            ("nulled non-finite", self.non_finite_nulled),
            ("nulled negative", self.negative_nulled),
            ("clipped > 100 %", self.clipped_above_100),
        ):
            shown = {k: v for k, v in counts.items() if v}
            if shown:
                lines.append(f"{title:<17}" + "  ".join(f"{k}={v:,}" for k, v in shown.items()))
        if self.dropped_timestamps:
            low, high = self.dropped_timestamps
            lines.append(f"bad timestamps   {low:,} .. {high:,} s ({_when(low)} .. {_when(high)})")
        if self.timestamp_units:
            units = "  ".join(f"{_UNIT_NAMES.get(u, u)}={n:,}" for u, n in self.timestamp_units.items())
            lines.append(f"timestamps       converted to seconds from {units}")
        if self.missing_metrics:
            lines.append(f"missing metrics  {', '.join(self.missing_metrics)}")
        lines += [
            f"clock            {self.out_of_order_rows:,} rows out of order on "
            f"{self.hosts_with_backwards_timestamps} hosts (max {self.max_backwards_seconds} s back)",
            f"step             {self.step_seconds} s ({self.step_source}; median interval "
            f"{_fmt(self.median_interval_seconds)} s), fill limit {self.fill_limit_rows} steps",
            f"resampling       {self.buckets:,} steps, {self.rows_merged:,} rows merged, "
            f"{self.short_gaps:,} short gaps ({self.rows_filled:,} steps filled), "
            f"{self.long_gaps:,} long gaps (longest {self.longest_gap_seconds:,} s)",
            f"output           {self.output_rows:,} rows, {self.hosts} hosts, "
            f"{_when(self.first_timestamp)} .. {_when(self.last_timestamp)}",
        ]
        if self.null_rates:
            lines.append("null rates       " + "  ".join(f"{k}={v:.1%}" for k, v in self.null_rates.items()))
        if self.label_rates:
            lines.append("label rates      " + "  ".join(f"{k}={v:.2%}" for k, v in self.label_rates.items()))
        lines += [f"WARNING          {w}" for w in self.warnings]
        return "\n".join(lines)


_UNIT_NAMES = {"ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds"}


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def _when(ts: int | None) -> str:
    if ts is None:
        return "n/a"
    try:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, OSError, ValueError):  # beyond what a datetime holds
        return "out of range"


def _sampled_line(sample: dict[str, Any]) -> str:
    """The summary's line for a host sample: how many, and which limit chose it."""
    text = f"sampled hosts    {sample['hosts']:,} of {sample['of_hosts']:,} (seed {sample['seed']}"
    rows, limit = sample.get("rows"), sample.get("max_rows")
    if rows is not None and limit is not None and sample["hosts"] != sample.get("max_hosts"):
        why = (
            "about what the memory available can hold (--max-rows all featurises every host)"
            if sample.get("automatic")
            else f"within --max-rows {limit:,}"
        )
        text += f"; {rows:,} of {sample['of_rows']:,} input rows, {why}"
    return text + "); the counts below are theirs"
