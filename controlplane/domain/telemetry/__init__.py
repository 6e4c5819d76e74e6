"""Telemetry: ingest (validate, dedupe, commit), storage paths, partitions and retention, queries."""

from __future__ import annotations

__all__: list[str] = []
