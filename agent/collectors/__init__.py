"""Metric collectors: one module per collector, discovered through the ``cloudsense.collectors`` group."""

from __future__ import annotations

from agent.collectors.base import BaseCollector, Clock, Collector, CounterDeltas, Reading
from agent.collectors.registry import GROUP, CollectorRegistry, DuplicatePlugin, PluginNotFound

__all__ = [
    "GROUP",
    "BaseCollector",
    "Clock",
    "Collector",
    "CollectorRegistry",
    "CounterDeltas",
    "DuplicatePlugin",
    "PluginNotFound",
    "Reading",
]
