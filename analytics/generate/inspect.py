"""Calibration report of a generated lake: is the simulated fleet a fair ML problem?

``python -m analytics.generate.inspect LAKE`` derives labels (:mod:`analytics.generate.labels`), and
reports per role: exhaustion episodes per host-day by cause (matched to the simulator's ground truth), the
positive rate, and ROC-AUC / PR-AUC of the static-threshold and trend baselines (the evaluation's own,
:mod:`analytics.evaluation.baselines`). If the baselines score near 1.0 the simulator is too easy. Whether
a model reaches the goals is for the real pipeline to say: ``cloudsense etl`` and ``cloudsense train`` on
the same lake.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

from agent.simulation import make_host
from analytics.evaluation.baselines import static_threshold_score, trend_score
from analytics.generate.labels import derive_labels
from analytics.lake import read_meta, read_telemetry
from analytics.settings import LabelSettings

__all__ = ["episode_causes", "load_labelled", "main"]


_WIDTHS = (11, 8, 10, 6, 9, 6)


def _out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def load_labelled(lake: Path, label: LabelSettings) -> tuple[pd.DataFrame, dict[str, object]]:
    """The lake as a labelled frame (sorted by host and time, with a ``role`` column) and its meta."""
    meta = read_meta(lake)
    df = read_telemetry(lake).to_pandas().drop(columns=["date"])
    df = df.sort_values(["host_id", "timestamp"], kind="stable").reset_index(drop=True)
    df["role"] = df["host_id"].str.split("-").str[1]
    step = float(meta["interval_seconds"])  # type: ignore[arg-type]
    return derive_labels(df, label, step), meta


def episode_causes(df: pd.DataFrame, meta: dict[str, object]) -> pd.DataFrame:
    """Every onset of the frame with the simulator episode that caused it (``unplanned`` if none)."""
    args: dict[str, int] = meta["args"]  # type: ignore[assignment]
    time_range: dict[str, int] = meta["time_range"]  # type: ignore[assignment]
    start_ts = time_range["first_timestamp"]
    onsets = df.loc[df["onset"], ["host_id", "role", "timestamp", "onset_resource"]]
    rows = []
    for host_id, group in onsets.groupby("host_id"):
        index = int(str(host_id).rsplit("-", 1)[1])
        plan = make_host(index, args["seed"], start_ts).planned(float(time_range["last_timestamp"]))
        exhausting = [ep for ep in plan if ep.onset is not None]
        for _, onset in group.iterrows():
            t = onset["timestamp"]
            # The exhausting precursor whose planned onset is nearest (an OOM also saturates the CPU of a
            # busy host: the CPU may be the first resource of that onset); else whatever was running.
            near = [ep for ep in exhausting if ep.start - 60 <= t <= ep.end + 60]
            if near:
                cause = min(near, key=lambda ep: abs((ep.onset or 0.0) - t)).kind
            else:
                running = [
                    ep for ep in plan if ep.resource == onset["onset_resource"] and ep.start <= t < ep.end
                ]
                cause = f"{running[0].kind}(aborted!)" if running else "unplanned"
            rows.append((host_id, onset["role"], t, onset["onset_resource"], cause))
    return pd.DataFrame(rows, columns=["host_id", "role", "timestamp", "resource", "cause"])


def _scores(part: pd.DataFrame) -> tuple[float, float, float, float]:
    y = part["positive"].to_numpy()
    if y.sum() == 0 or y.sum() == len(y):
        return (float("nan"),) * 4
    s, t = part["static"].to_numpy(), part["trend"].to_numpy()
    return (
        roc_auc_score(y, s),
        average_precision_score(y, s),
        roc_auc_score(y, t),
        average_precision_score(y, t),
    )


def report(df: pd.DataFrame, meta: dict[str, object], label: LabelSettings, window: float) -> None:
    """Print the per-role table of episodes, positive rate and baseline scores."""
    step = float(meta["interval_seconds"])  # type: ignore[arg-type]
    df["static"] = static_threshold_score(df, label.resources)
    df["trend"] = trend_score(
        df,
        label.resources,
        window_seconds=int(window),
        horizon_seconds=label.horizon_seconds,
        step_seconds=int(step),
    )
    causes = episode_causes(df, meta)
    host_days = df.groupby("role").size() * step / 86400.0
    scored = df[~df["exhausted"]]
    _out(f"rows {len(df):,}  hosts {df['host_id'].nunique()}  exhausted rows {df['exhausted'].mean():.2%}")
    _out(f"trend baseline window {window / 60:.0f} min, horizon {label.horizon_seconds / 60:.0f} min")
    columns = ("ep/host-day", "pos rate", "static ROC", "PR", "trend ROC", "PR")
    _out(f"{'role':8} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, _WIDTHS, strict=True)) + "  causes")
    for role in [*sorted(df["role"].unique()), "ALL"]:
        part = scored if role == "ALL" else scored[scored["role"] == role]
        c = causes if role == "ALL" else causes[causes["role"] == role]
        days = host_days.sum() if role == "ALL" else host_days[role]
        s_roc, s_pr, t_roc, t_pr = _scores(part)
        counts = Counter(c["cause"])
        mix = " ".join(f"{k}={v / days:.2f}" for k, v in sorted(counts.items()))
        _out(
            f"{role:8} {len(c) / days:11.2f} {part['positive'].mean():8.2%} {s_roc:10.3f} {s_pr:6.3f} "
            f"{t_roc:9.3f} {t_pr:6.3f}  {mix}"
        )


def main(argv: list[str] | None = None) -> int:
    """Entry point: ``python -m analytics.generate.inspect LAKE [--window S]``."""
    parser = argparse.ArgumentParser(prog="python -m analytics.generate.inspect", description=__doc__)
    parser.add_argument("lake", type=Path)
    parser.add_argument("--window", type=float, default=1800.0, help="trend baseline window, seconds")
    args = parser.parse_args(argv)
    label = LabelSettings()
    df, meta = load_labelled(args.lake, label)
    report(df, meta, label, args.window)
    return 0


if __name__ == "__main__":
    sys.exit(main())
