"""Suite-wide pytest configuration. Area fixtures live in each folder's own conftest.py."""

from __future__ import annotations

import os

# Spark warns (and picks a random interface) when the hostname resolves to loopback.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")


# One local Spark session for every Spark test of the run (starting a JVM costs seconds): local[1], quiet
# logs, two shuffle partitions. Tests that need it take the ``spark`` fixture and carry the ``spark`` marker.
import pytest


@pytest.fixture(scope="session")
def spark():
    from analytics.settings import SparkSettings
    from analytics.spark import create_spark_session

    settings = SparkSettings(master="local[1]", driver_memory="2g", shuffle_partitions=2)
    session = create_spark_session(settings, app_name="cloudsense-tests")
    yield session
    session.stop()
