"""A quick model on simple window features: can the simulated fleet's goals be met at all?

Not the production model (that is ``analytics.training`` on the ETL's features): a yardstick for the
simulator, forward in time and grouped by host, threshold chosen on validation rows, never on test.
"""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from agent.wire import METRIC_NAMES

RESOURCES = ("cpu_util", "mem_util", "disk_util")

if TYPE_CHECKING:
    from analytics.settings import LabelSettings

__all__ = ["features", "quick_model"]


def features(df: pd.DataFrame, step: float) -> pd.DataFrame:
    """Roughly the production feature set (``analytics.features``) in pandas; rows sorted by host and time."""
    k = df.groupby("host_id").cumcount().to_numpy()
    out: dict[str, np.ndarray] = {}

    def rows(minutes: int) -> int:
        return max(2, round(minutes * 60 / step))

    def roll(s: pd.Series, minutes: int, how: str) -> np.ndarray:
        n = rows(minutes)
        values: np.ndarray = getattr(s.rolling(n, min_periods=2), how)().to_numpy(dtype=float)
        values[k < n - 1] = np.nan
        return values

    def lag(s: pd.Series, minutes: int) -> np.ndarray:
        n = max(1, round(minutes * 60 / step))
        values: np.ndarray = s.shift(n).to_numpy(dtype=float)
        values[k < n] = np.nan
        return values

    def slope(s: pd.Series, kk: pd.Series, minutes: int) -> np.ndarray:
        n = rows(minutes)
        cov = (s * kk).rolling(n, 2).mean() - s.rolling(n, 2).mean() * kk.rolling(n, 2).mean()
        var = (kk * kk).rolling(n, 2).mean() - kk.rolling(n, 2).mean() ** 2
        values: np.ndarray = (cov / var).to_numpy() / step  # per second
        values[k < n - 1] = np.nan
        return values

    kk = pd.Series(k.astype(float))
    hosts = df["host_id"].to_numpy()
    for name in df.columns.intersection(list(METRIC_NAMES)):
        out[name] = df[name].to_numpy(dtype=float)
    for r in RESOURCES:
        s = df[r].astype(float).reset_index(drop=True)
        for m in (5, 15, 60):
            out[f"{r}_mean_{m}m"] = roll(s, m, "mean")
        for m in (15, 60):
            out[f"{r}_std_{m}m"] = roll(s, m, "std")
            out[f"{r}_max_{m}m"] = roll(s, m, "max")
            out[f"{r}_slope_{m}m"] = slope(s, kk, m)
        out[f"{r}_min_60m"] = roll(s, 60, "min")
        out[f"{r}_ewma"] = s.ewm(halflife=5 * 60 / step).mean().to_numpy()
        out[f"{r}_lag_15m"] = lag(s, 15)
        out[f"{r}_rate_5m"] = (s.to_numpy() - lag(s, 5)) / 300.0
        out[f"{r}_headroom"] = 100.0 - s.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            ttf = out[f"{r}_headroom"] / out[f"{r}_slope_15m"]
        out[f"{r}_ttf"] = np.where(out[f"{r}_slope_15m"] > 0, np.clip(ttf, 0, 6 * 3600), 6 * 3600)
        high_ts = pd.Series(np.where(s >= 90.0, df["timestamp"].to_numpy(), np.nan)).groupby(hosts).ffill()
        since = df["timestamp"].to_numpy() - high_ts.to_numpy()
        out[f"{r}_since_high"] = np.where(np.isnan(since) | (since > 3 * 3600), 3 * 3600, since)
    out["load_per_cpu"] = (df["load1"] / (df["cpu_util"] + 1.0)).to_numpy()
    out["load_ratio"] = (df["load1"] / (df["load15"] + 0.01)).to_numpy()
    out["swap_per_mem"] = (df["swap_util"] / (df["mem_util"] + 1.0)).to_numpy()
    out["net_log_ratio"] = (np.log1p(df["network_in"]) - np.log1p(df["network_out"])).to_numpy()
    out["io_size"] = (df["disk_io"] / (df["disk_iops"] + 1.0)).to_numpy()
    out["max_util"] = df[list(RESOURCES)].max(axis=1).to_numpy()
    hour = (df["timestamp"].to_numpy() % 86400) / 3600.0
    out["hour_sin"], out["hour_cos"] = np.sin(hour * np.pi / 12), np.cos(hour * np.pi / 12)
    # No day of week: a forward split of a week or two never trains on the test period's weekdays, and the
    # trees extrapolate arbitrarily on them (hundreds of false alarms on a quiet host on a Sunday).
    return pd.DataFrame(out)


def _lead_minutes(frame: pd.DataFrame, alarm: np.ndarray, horizon: float) -> float:
    leads = []
    ts, host, onset = frame["timestamp"].to_numpy(), frame["host_id"].to_numpy(), frame["onset"].to_numpy()
    for i in np.flatnonzero(onset):
        window = (host == host[i]) & (ts >= ts[i] - horizon) & (ts < ts[i]) & alarm
        leads.append((ts[i] - ts[window].min()) / 60.0 if window.any() else 0.0)
    return float(np.median(leads)) if leads else float("nan")


def quick_model(df: pd.DataFrame, label: LabelSettings, step: float) -> list[str]:
    """Fit and score; returns report lines."""
    x = features(df, step)
    hosts = df["host_id"].to_numpy()
    test_host = np.array([zlib.crc32(h.encode()) % 10 < 3 for h in hosts])
    t = df["timestamp"].to_numpy()
    t0, t1 = t.min(), t.max()
    frac = (t - t0) / max(1, t1 - t0)
    scored = ~df["exhausted"].to_numpy()
    y = df["positive"].to_numpy()
    train = scored & ~test_host & (frac < 0.6)
    val = scored & ~test_host & (frac >= 0.6) & (frac < 0.8)
    test = scored & test_host & (frac >= 0.8)
    model = HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.08, max_leaf_nodes=31, random_state=0
    )
    model.fit(x[train], y[train])
    p_val, p_test = model.predict_proba(x[val])[:, 1], model.predict_proba(x[test])[:, 1]
    prec, rec, thr = precision_recall_curve(y[val], p_val)
    f1 = 2 * prec * rec / np.maximum(prec + rec, 1e-9)
    threshold = thr[int(np.argmax(f1[:-1]))]
    alarm = p_test >= threshold
    tp, fp, fn = (alarm & y[test]).sum(), (alarm & ~y[test]).sum(), (~alarm & y[test]).sum()
    full_alarm = np.zeros(len(df), dtype=bool)
    full_alarm[np.flatnonzero(test)] = alarm
    test_frame = df[test_host & (frac >= 0.8)]
    lead = _lead_minutes(test_frame, full_alarm[test_host & (frac >= 0.8)], label.horizon_seconds)
    s_pr = average_precision_score(y[test], df["static"].to_numpy()[test])
    t_pr = average_precision_score(y[test], df["trend"].to_numpy()[test])
    return [
        f"quick model (test: {test.sum():,} rows, {y[test].sum():,} positive,"
        f" {len(set(hosts[test]))} hosts):",
        f"  ROC-AUC {roc_auc_score(y[test], p_test):.3f}"
        f"  PR-AUC {average_precision_score(y[test], p_test):.3f}"
        f"  (static PR {s_pr:.3f}, trend PR {t_pr:.3f})",
        f"  at validation-F1 threshold {threshold:.3f}: precision {tp / max(1, tp + fp):.3f}"
        f"  recall {tp / max(1, tp + fn):.3f}  median lead {lead:.1f} min",
    ]
