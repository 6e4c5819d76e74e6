"""Hosts: the fleet's inventory, each host's facts, latest sample and status."""

from __future__ import annotations

__all__: list[str] = []
