"""Labels on a telemetry frame, in pandas: the simulator's own yardstick (``analytics.generate.inspect``).

This is a reference implementation of the :class:`~analytics.settings.LabelSettings` definition for
calibrating the simulator on a generated lake (regular step, no gaps worth resampling); the Spark ETL
owns the production labels. Definitions:

* a resource is *exhausted* during a run of consecutive samples at or above ``threshold_percent`` whose
  duration (last - first + step) is at least ``min_duration_seconds``; a host is exhausted when any of
  ``resources`` is; an *onset* is the first sample of a host's exhausted run;
* a row is *positive* when an onset falls in ``(t, t + horizon_seconds]``; exhausted rows are excluded
  from onset scoring.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from analytics.settings import LabelSettings

__all__ = ["derive_labels"]


def _runs(flag: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """Run id of every row: a new run where the flag changes or a break (new host, gap) occurs."""
    change = np.empty(len(flag), dtype=bool)
    change[0] = True
    change[1:] = (flag[1:] != flag[:-1]) | breaks[1:]
    return np.cumsum(change)


def derive_labels(df: pd.DataFrame, label: LabelSettings, step: float) -> pd.DataFrame:
    """Add ``exhausted``, ``onset``, ``onset_resource``, ``positive`` (and ``exhausted_<r>``) columns.

    Args:
        df: Telemetry sorted by ``host_id`` then ``timestamp``.
        label: The exhaustion definition.
        step: Sampling step, seconds (a gap over 1.5 steps breaks a run).
    """
    out = df.copy()
    ts = out["timestamp"].to_numpy(dtype=np.int64)
    host = out["host_id"].to_numpy()
    new_host = np.empty(len(out), dtype=bool)
    new_host[0] = True
    new_host[1:] = host[1:] != host[:-1]
    breaks = new_host.copy()
    breaks[1:] |= (ts[1:] - ts[:-1]) > 1.5 * step
    any_exhausted = np.zeros(len(out), dtype=bool)
    first_resource = np.full(len(out), "", dtype=object)
    for resource in label.resources:
        high = (out[resource].to_numpy(dtype=float) >= label.threshold_percent) & ~np.isnan(
            out[resource].to_numpy(dtype=float)
        )
        run = _runs(high, breaks)
        frame = pd.DataFrame({"run": run, "ts": ts})
        first = frame.groupby("run")["ts"].transform("min").to_numpy()
        last = frame.groupby("run")["ts"].transform("max").to_numpy()
        held = high & ((last - first + step) >= label.min_duration_seconds)
        out[f"exhausted_{resource}"] = held
        starts = held & (first == ts)
        first_resource[starts & (first_resource == "")] = resource
        any_exhausted |= held
    run = _runs(any_exhausted, breaks)
    is_start = np.empty(len(out), dtype=bool)
    is_start[0] = True
    is_start[1:] = run[1:] != run[:-1]
    onset = any_exhausted & is_start
    out["exhausted"] = any_exhausted
    out["onset"] = onset
    out["onset_resource"] = np.where(onset, first_resource, "")
    # Next onset at or after each row, per host (onset rows are exhausted, so "after" is exact).
    next_onset = pd.Series(np.where(onset, ts, np.nan), index=out.index).groupby(out["host_id"]).bfill()
    delta = next_onset.to_numpy() - ts
    out["positive"] = ~any_exhausted & (delta > 0) & (delta <= label.horizon_seconds)
    return out
