"""The job scheduler: APScheduler 3 (asyncio), one leader per database elected by an advisory lock."""

from __future__ import annotations

__all__: list[str] = []
