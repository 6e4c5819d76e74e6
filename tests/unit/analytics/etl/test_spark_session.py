"""Finding Java for Spark, and saying how to install it when there is none."""

from __future__ import annotations

import os
import stat

import pytest

from analytics.spark import JavaNotFoundError, find_java


def fake_java(tmp_path, version: str):
    home = tmp_path / f"jdk{version}"
    (home / "bin").mkdir(parents=True)
    java = home / "bin" / "java"
    java.write_text(f"#!/bin/sh\necho 'openjdk version \"{version}\" 2025-04-15' >&2\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    return home, java


def test_no_java_anywhere_says_how_to_install_one(tmp_path):
    with pytest.raises(JavaNotFoundError, match="openjdk-17-jre-headless"):
        find_java({"PATH": str(tmp_path)})


def test_java_home_without_java(tmp_path):
    with pytest.raises(JavaNotFoundError, match="has no bin/java"):
        find_java({"JAVA_HOME": str(tmp_path), "PATH": os.environ.get("PATH", "")})


def test_java_home_wins_and_its_version_is_checked(tmp_path):
    home, java = fake_java(tmp_path, "17.0.15")
    assert find_java({"JAVA_HOME": str(home), "PATH": ""}) == str(java)
    old, _ = fake_java(tmp_path, "1.8.0_392")
    with pytest.raises(JavaNotFoundError, match="Java 8"):
        find_java({"JAVA_HOME": str(old), "PATH": ""})


def test_java_on_path(tmp_path):
    home, java = fake_java(tmp_path, "21.0.2")
    assert find_java({"PATH": str(home / "bin")}) == str(java)


def test_extra_spark_properties_come_from_the_environment(monkeypatch):
    from analytics.settings import Settings

    monkeypatch.setenv(
        "CLOUDSENSE_SPARK__CONF", '{"spark.executor.memory": "8g", "spark.sql.ansi.enabled": "true"}'
    )
    assert Settings().spark.conf == {"spark.executor.memory": "8g", "spark.sql.ansi.enabled": "true"}


@pytest.mark.spark
def test_extra_spark_properties_reach_the_session(spark):
    from analytics.settings import SparkSettings
    from analytics.spark import create_spark_session

    settings = SparkSettings(master="local[1]", conf={"spark.cloudsense.marker": "from-settings"})
    assert create_spark_session(settings).conf.get("spark.cloudsense.marker") == "from-settings"
