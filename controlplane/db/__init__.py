"""Database layer: metadata and models, engine and sessions, migrations."""

from __future__ import annotations

__all__: list[str] = []
