"""Evaluation: metrics, baselines, plots, model card, and the ``evaluate`` / ``backtest`` commands.

Modules: ``metrics`` (pure numpy metric functions), ``baselines`` (static threshold, predict_linear),
``scoring`` (every predictor on the same rows), ``report`` (rich / JSON / Markdown tables), ``plots``,
``model_card``, ``evaluate_command`` and ``backtest_command``. This ``__init__`` imports nothing heavy.
"""

from __future__ import annotations

__all__: list[str] = []
