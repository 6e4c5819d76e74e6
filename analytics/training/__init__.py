"""Training: forward-in-time, host-grouped splits; LightGBM and Random Forest tuned by Optuna; calibration,
thresholds and time-to-exhaustion models; everything logged to MLflow by ``analytics.tracking``.

Modules: ``data`` (read the ETL output), ``split``, ``lightgbm``, ``random_forest``, ``tuning``,
``calibration``, ``tte``, ``pipeline`` (the shared core), ``bundle`` (serving bundle writer) and
``command`` (``cloudsense train``). This ``__init__`` imports nothing heavy; import the modules.
"""

from __future__ import annotations

__all__: list[str] = []
