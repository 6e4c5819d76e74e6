"""Initial schema: host, api_token, enrollment_token, telemetry (range-partitioned by ts on Postgres).

Revision ID: ec86be70fede
Revises:
Create Date: 2026-11-26 13:59:52

Telemetry on Postgres is ``PARTITION BY RANGE (ts)`` with a ``DEFAULT`` partition as a safety net; the
daily partitions are created (and dropped past retention) by the maintenance job, not here, because they
depend on the clock. On SQLite the same table is a plain table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "ec86be70fede"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

METRICS = (
    "cpu_util",
    "mem_util",
    "swap_util",
    "disk_util",
    "disk_io",
    "disk_iops",
    "network_in",
    "network_out",
    "active_processes",
    "load1",
    "load5",
    "load15",
)


def _json() -> sa.types.TypeEngine[object]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _ts(name: str, *, nullable: bool) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    """Create the four tables (and telemetry's default partition on Postgres)."""
    op.create_table(
        "api_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("host_id", sa.String(length=253), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=True),
        _ts("revoked_at", nullable=True),
        sa.CheckConstraint(
            "role <> 'agent' OR host_id IS NOT NULL", name=op.f("ck_api_token_agent_has_host")
        ),
        sa.CheckConstraint(
            "role IN ('agent', 'viewer', 'operator', 'admin')", name=op.f("ck_api_token_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
    )
    op.create_index(op.f("ix_api_token_host_id"), "api_token", ["host_id"])

    op.create_table(
        "enrollment_token",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("uses_total", sa.Integer(), nullable=False),
        sa.Column("uses_remaining", sa.Integer(), nullable=False),
        _ts("created_at", nullable=False),
        _ts("expires_at", nullable=False),
        _ts("revoked_at", nullable=True),
        sa.CheckConstraint(
            "uses_remaining >= 0", name=op.f("ck_enrollment_token_uses_remaining_non_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_enrollment_token")),
    )

    op.create_table(
        "host",
        sa.Column("host_id", sa.String(length=253), nullable=False),
        _ts("created_at", nullable=False),
        _ts("enrolled_at", nullable=True),
        _ts("first_seen", nullable=True),
        _ts("last_seen", nullable=True),
        sa.Column("agent_version", sa.String(length=64), nullable=True),
        sa.Column("epoch", sa.BigInteger(), nullable=True),
        sa.Column("spool_dropped_total", sa.BigInteger(), nullable=False),
        sa.Column("facts", _json(), nullable=True),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.Column("hostname", sa.String(length=255), nullable=True),
        _ts("latest_ts", nullable=True),
        sa.Column("latest_sample", _json(), nullable=True),
        sa.PrimaryKeyConstraint("host_id", name=op.f("pk_host")),
    )
    op.create_index(op.f("ix_host_last_seen"), "host", ["last_seen"])
    op.create_index(op.f("ix_host_role"), "host", ["role"])

    op.create_table(
        "telemetry",
        sa.Column("host_id", sa.String(length=253), nullable=False),
        sa.Column("epoch", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        _ts("ts", nullable=False),
        *(sa.Column(name, sa.Double(), nullable=True) for name in METRICS),
        sa.Column("mounts", _json(), nullable=True),
        _ts("received_at", nullable=False),
        sa.PrimaryKeyConstraint("host_id", "epoch", "seq", "ts", name=op.f("pk_telemetry")),
        postgresql_partition_by="RANGE (ts)",
    )
    op.create_index("ix_telemetry_host_id_ts", "telemetry", ["host_id", "ts"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE TABLE telemetry_default PARTITION OF telemetry DEFAULT")


def downgrade() -> None:
    """Drop the four tables (dropping telemetry drops its partitions)."""
    op.drop_index("ix_telemetry_host_id_ts", table_name="telemetry")
    op.drop_table("telemetry")
    op.drop_index(op.f("ix_host_role"), table_name="host")
    op.drop_index(op.f("ix_host_last_seen"), table_name="host")
    op.drop_table("host")
    op.drop_table("enrollment_token")
    op.drop_index(op.f("ix_api_token_host_id"), table_name="api_token")
    op.drop_table("api_token")
