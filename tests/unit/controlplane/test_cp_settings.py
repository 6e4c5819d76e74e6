"""Settings: environment names, URL drivers, validation, host status thresholds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from controlplane.domain.hosts.schemas import HostStatus
from controlplane.domain.hosts.services import host_status
from controlplane.settings import DEFAULT_DB_URL, HostSettings, Settings, normalise_db_url


def test_nested_environment_names(tmp_path: Path) -> None:
    env = tmp_path / ".env"
    env.write_text(
        "CLOUDSENSE_DB__URL=postgresql://u@db:5432/cs\n"
        "CLOUDSENSE_INGEST__MAX_CONCURRENT=3\n"
        "CLOUDSENSE_TELEMETRY__RETENTION_DAYS=7\n"
        "CLOUDSENSE_SPARK__MASTER=local[1]\n"  # another component's section: ignored here
    )
    settings = Settings(_env_file=env)  # type: ignore[call-arg]
    assert settings.db.url == "postgresql+asyncpg://u@db:5432/cs"
    assert settings.ingest.max_concurrent == 3
    assert settings.telemetry.retention_days == 7


def test_default_is_the_embedded_sqlite(tmp_path: Path) -> None:
    settings = Settings(_env_file=tmp_path / "missing.env")  # type: ignore[call-arg]
    assert settings.db.url == DEFAULT_DB_URL
    assert settings.db.is_sqlite


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://a@b/c", "postgresql+asyncpg://a@b/c"),
        ("postgres://a@b/c", "postgresql+asyncpg://a@b/c"),
        ("postgresql+asyncpg://a@b/c", "postgresql+asyncpg://a@b/c"),
        ("sqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_url_normalisation(url: str, expected: str) -> None:
    assert normalise_db_url(url) == expected


def test_inconsistent_thresholds_fail_fast() -> None:
    with pytest.raises(ValidationError):
        HostSettings(stale_after_seconds=600, down_after_seconds=60)


def test_host_status_thresholds() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    settings = HostSettings(stale_after_seconds=60, down_after_seconds=300)
    assert host_status(now - timedelta(seconds=59), now, settings) is HostStatus.UP
    assert host_status(now - timedelta(seconds=60), now, settings) is HostStatus.STALE
    assert host_status(now - timedelta(seconds=299), now, settings) is HostStatus.STALE
    assert host_status(now - timedelta(seconds=300), now, settings) is HostStatus.DOWN
    assert host_status(None, now, settings) is HostStatus.DOWN
    enrolled = now - timedelta(seconds=299)
    assert host_status(None, now, settings, enrolled=enrolled) is HostStatus.PENDING
    assert host_status(None, now, settings, enrolled=now - timedelta(seconds=300)) is HostStatus.DOWN
    assert host_status(now, now, settings, enrolled=enrolled) is HostStatus.UP
