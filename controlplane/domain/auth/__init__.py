"""Credentials: API tokens with roles, enrollment tokens, and the request principal."""

from __future__ import annotations

__all__: list[str] = []
