"""``cloudsense generate``: a simulated fleet's history as a Parquet telemetry lake.

The simulation model is :mod:`agent.simulation`; the lake's schema and layout are :mod:`analytics.lake`.
``python -m analytics.generate.inspect LAKE`` derives labels and scores the baselines on a generated lake
(the calibration loop of the simulator).
"""

from __future__ import annotations

from analytics.generate.fleet import GenerateResult, GenerateSpec, LakeExistsError, generate, host_epoch

__all__ = ["GenerateResult", "GenerateSpec", "LakeExistsError", "generate", "host_epoch"]
