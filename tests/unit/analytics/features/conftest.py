"""Raw telemetry with the troubles of real fleets, for the parity and leakage tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from agent.wire import METRIC_NAMES

T0 = 1_772_409_600  # 2026-03-02T00:00:00Z


def messy_telemetry(step: int, rows: int, seed: int, hosts: int = 3) -> pd.DataFrame:
    """Per host: jittered timestamps, a short and a long gap, missing values, a metric absent altogether,
    utilisation above 100 %, ramps and plateaus at 100 % (so that labels and since_high have something)."""
    rng = np.random.default_rng(seed)
    frames = []
    for h in range(hosts):
        n = rows
        ts = T0 + step * np.arange(n) + rng.integers(-step // 6, step // 6 + 1, n)
        keep = np.ones(n, dtype=bool)
        keep[20] = False  # short gap at any step (one step missing)
        keep[40:42] = False  # short at 60 s (two steps), long at 300 s (more than 5 minutes)
        keep[150 + 10 * h : 150 + 10 * h + 80] = False  # long gap
        frame = {"host_id": f"host-{h}", "timestamp": ts.astype(np.int64)}
        for i, m in enumerate(METRIC_NAMES):
            if m == "swap_util":
                continue  # absent from the input
            base = np.clip(rng.normal(40 + 5 * i, 15, n), 0, None)
            if m in ("cpu_util", "mem_util", "disk_util"):
                base[60:90] = np.linspace(60, 104, 30)  # a ramp over the top
                base[90:100] = 100.0
            values = base.astype(float)
            values[rng.random(n) < 0.08] = np.nan
            frame[m] = values
        frames.append(pd.DataFrame(frame)[keep])
    return pd.concat(frames, ignore_index=True)


@pytest.fixture
def messy() -> Callable[..., pd.DataFrame]:
    """:func:`messy_telemetry` as a fixture (test modules of this tree are not a package)."""
    return messy_telemetry
