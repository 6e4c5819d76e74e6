"""Labels derived from the telemetry itself (the same definition for training and for any fleet's data).

For each resource ``r`` of ``LabelSettings.resources``, on the uniform grid:

* an **exhaustion episode** is a maximal run of consecutive rows with ``r >= threshold`` whose length times
  the step is at least ``min_duration`` (missing values never count as exhausted; a long gap ends a run);
* its **onset** is the run's first timestamp;
* ``exhausted_<r>`` = 1 on the rows of an episode (not onset examples: evaluation drops them);
* ``label_<r>`` = 1 when an onset of ``r`` falls in ``(t, t + horizon]``;
* ``tte_<r>_seconds`` = seconds from ``t`` to that onset (the next one), null when there is none within the
  horizon.

Overall: ``label`` = any ``label_<r>``, ``exhausted`` = any ``exhausted_<r>``, ``tte_seconds`` = the smallest
``tte_<r>_seconds``.

The work is split into window stages like the features' (:class:`~analytics.features.spark.FeaturePlan`):
(1) the start of each run (a running maximum), (2) whether the run lasts long enough (a frame of
``ceil(min_duration / step)`` rows ahead), (3) the next onset within the horizon (a range frame). Every frame
is per host, ordered by time, bounded or growing. What the two sliding frames aggregate (each run's duration
so far, each onset's time) is computed beforehand as a plain column (:meth:`LabelPlan.durations`,
:meth:`LabelPlan.onsets`): Spark re-evaluates a sliding frame's input for every row of every frame, and
these expressions inside the frames cost a quarter of the ETL's main stage (measured at 1M rows, warm JVM:
21 s with them inside, 16 s without).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from analytics import sqltext as sql
from analytics.features.spark import host_window
from analytics.sqltext import Expr, Named, Window

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

    from analytics.settings import LabelSettings

__all__ = ["LabelPlan", "add_labels", "label_columns"]


def label_columns(resources: tuple[str, ...] | list[str]) -> list[str]:
    """Names of the label columns, in output order."""
    per = [f"{p}_{r}" for r in resources for p in ("label", "exhausted")]
    per += [f"tte_{r}_seconds" for r in resources]
    return ["label", "exhausted", "tte_seconds", *per]


def _greatest(cols: list[Expr]) -> Expr:
    return cols[0] if len(cols) == 1 else sql.greatest(*cols)


def _least(cols: list[Expr]) -> Expr:
    return cols[0] if len(cols) == 1 else sql.least(*cols)


class LabelPlan:
    """The label columns of each window stage, for one label definition and grid step."""

    def __init__(self, label: LabelSettings, step_seconds: int):
        self.label = label
        self.step = step_seconds
        self.resources = list(label.resources)

    def _high(self, r: str) -> Expr:
        return sql.coalesce(sql.col(r) >= self.label.threshold_percent, sql.lit(False))

    def stage1(self) -> list[Named]:
        """Where the current run of high rows started (the step after the last row that was not high)."""
        running = host_window().rowsBetween(Window.unboundedPreceding, 0)
        ts = sql.col("timestamp")
        first = sql.min(ts).over(running)
        last_low = {r: sql.max(sql.when(~self._high(r), ts)).over(running) for r in self.resources}
        return [sql.coalesce(last_low[r] + self.step, first).alias(f"_start_{r}") for r in self.resources]

    def durations(self) -> list[Named]:
        """How long each high row's run has lasted so far, the row included (null on other rows)."""
        ts = sql.col("timestamp")
        return [
            sql.when(self._high(r), ts - sql.col(f"_start_{r}") + sql.lit(self.step)).alias(f"_dur_{r}")
            for r in self.resources
        ]

    def stage2(self) -> list[Named]:
        """Whether a high row is in an episode: its run reaches the minimum duration within the next rows.

        Reads :meth:`durations`.
        """
        rows = max(1, math.ceil(self.label.min_duration_seconds / self.step))
        ahead = host_window().rowsBetween(0, rows - 1)
        cols = []
        for r in self.resources:
            episode = self._high(r) & sql.coalesce(
                sql.max(sql.col(f"_dur_{r}")).over(ahead) >= self.label.min_duration_seconds, sql.lit(False)
            )
            cols.append(episode.alias(f"_ep_{r}"))
        return cols

    def onsets(self) -> list[Named]:
        """The onset time on each episode's first row (null elsewhere), for the next-onset frame to read."""
        ts = sql.col("timestamp")
        return [
            sql.when(sql.col(f"_ep_{r}") & (ts == sql.col(f"_start_{r}")), ts).alias(f"_on_{r}")
            for r in self.resources
        ]

    def staged(self, frame: DataFrame, alongside: list[Named] | None = None) -> DataFrame:
        """``frame`` through every window stage before :meth:`final` (absent resources added as missing).

        Args:
            frame: The resampled grid.
            alongside: Further running-frame columns to compute in the first stage (the ETL's output helpers).
        """
        absent = [r for r in self.resources if r not in frame.columns]
        full = sql.select(frame, "*", *[sql.lit(None).cast("double").alias(r) for r in absent])
        staged = sql.select(sql.select(full, "*", *self.stage1(), *(alongside or [])), "*", *self.durations())
        return sql.select(sql.select(staged, "*", *self.stage2()), "*", *self.onsets())

    def final(self) -> list[Named]:
        """The label columns, in :func:`label_columns` order (the next onset is a range-frame window).

        Reads :meth:`onsets`.
        """
        ts = sql.col("timestamp")
        horizon = host_window().rangeBetween(1, self.label.horizon_seconds)
        nxt = {r: sql.min(sql.col(f"_on_{r}")).over(horizon) for r in self.resources}
        label = {r: sql.when(nxt[r].isNotNull(), 1).otherwise(0).cast("byte") for r in self.resources}
        exhausted = {r: sql.col(f"_ep_{r}").cast("byte") for r in self.resources}
        tte = {r: (nxt[r] - ts).cast("double") for r in self.resources}
        zero = sql.lit(0).cast("byte")
        out = [
            (_greatest(list(label.values())) if self.resources else zero).alias("label"),
            (_greatest(list(exhausted.values())) if self.resources else zero).alias("exhausted"),
            (_least(list(tte.values())) if self.resources else sql.lit(None).cast("double")).alias(
                "tte_seconds"
            ),
        ]
        for r in self.resources:
            out += [label[r].alias(f"label_{r}"), exhausted[r].alias(f"exhausted_{r}")]
        out += [tte[r].alias(f"tte_{r}_seconds") for r in self.resources]
        return out


def add_labels(frame: DataFrame, label: LabelSettings, step_seconds: int) -> DataFrame:
    """Append the label columns (see the module docstring) to a resampled frame.

    Args:
        frame: ``host_id``, ``timestamp`` on the grid, the resource columns (null = missing; absent ones count
            as never exhausted); long gaps stand as rows whose resources are null.
        label: Threshold, minimum duration, horizon, resources.
        step_seconds: Grid step in seconds.

    Returns:
        ``frame``'s columns plus :func:`label_columns`.
    """
    plan = LabelPlan(label, step_seconds)
    return sql.select(plan.staged(frame), *frame.columns, *plan.final())
