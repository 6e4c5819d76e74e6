"""Suite-wide pytest configuration. Area fixtures live in each folder's own conftest.py."""

from __future__ import annotations

import os

# Spark warns (and picks a random interface) when the hostname resolves to loopback.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
