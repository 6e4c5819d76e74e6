"""Bounded contexts of the control plane: one package per noun."""

from __future__ import annotations

__all__: list[str] = []
