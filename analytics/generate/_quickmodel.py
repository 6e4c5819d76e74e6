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

if TYPE_CHECKING:
    from analytics.settings import LabelSettings

__all__ = ["features", "quick_model"]


def features(df: pd.DataFrame, step: float) -> pd.DataFrame:
    """Window features per host (rows sorted by host then time, regular step)."""
    k = df.groupby("host_id").cumcount().to_numpy()
    out: dict[str, np.ndarray] = {}

    def roll(s: pd.Series, minutes: int, how: str) -> np.ndarray:
        n = max(2, round(minutes * 60 / step))
        values: np.ndarray = getattr(s.rolling(n, min_periods=2), how)().to_numpy(dtype=float)
        values[k < n - 1] = np.nan
        return values

    def lag(s: pd.Series, minutes: int) -> np.ndarray:
        n = max(1, round(minutes * 60 / step))
        values: np.ndarray = s.to_numpy(dtype=float) - s.shift(n).to_numpy(dtype=float)
        values[k < n] = np.nan
        return values

    kk = pd.Series(k.astype(float))
    for r in ("cpu_util", "mem_util", "disk_util", "swap_util"):
        s = df[r].astype(float).reset_index(drop=True)
        out[r] = s.to_numpy()
        for w in (15, 60, 180):
            out[f"{r}_mean{w}"] = roll(s, w, "mean")
            out[f"{r}_std{w}"] = roll(s, w, "std")
            out[f"{r}_min{w}"] = roll(s, w, "min")
            out[f"{r}_max{w}"] = roll(s, w, "max")
            n = max(2, round(w * 60 / step))
            cov = (s * kk).rolling(n, min_periods=2).mean() - s.rolling(n, 2).mean() * kk.rolling(n, 2).mean()
            var = (kk * kk).rolling(n, 2).mean() - kk.rolling(n, 2).mean() ** 2
            slope = (cov / var).to_numpy() * (60 / step)  # per minute
            slope[k < n - 1] = np.nan
            out[f"{r}_slope{w}"] = slope
        out[f"{r}_d5"], out[f"{r}_d15"] = lag(s, 5), lag(s, 15)
        with np.errstate(divide="ignore", invalid="ignore"):
            ttf = (95.0 - out[r]) / out[f"{r}_slope60"]
        out[f"{r}_ttf60"] = np.where(out[f"{r}_slope60"] > 0, np.clip(ttf, 0, 1e4), 1e4)
    for r in ("load1", "active_processes", "network_in", "disk_io"):
        s = df[r].astype(float).reset_index(drop=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{r}_rel60"] = s.to_numpy() / roll(s, 60, "mean")
            out[f"{r}_rel15"] = s.to_numpy() / roll(s, 15, "mean")
        out[f"{r}_d15"] = lag(s, 15)
        out[f"{r}_d60"] = lag(s, 60)
    out["load_ratio"] = (df["load1"] / (df["load15"] + 0.01)).to_numpy()
    hour = (df["timestamp"].to_numpy() % 86400) / 3600.0
    out["hour_sin"], out["hour_cos"] = np.sin(hour * np.pi / 12), np.cos(hour * np.pi / 12)
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
