"""Operations endpoints: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

__all__: list[str] = []
