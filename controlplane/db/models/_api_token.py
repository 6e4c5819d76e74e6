"""``api_token``: bearer credentials (stored as a SHA-256 of the secret only)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.db.base import Base, uuid7
from controlplane.db.types import UTCDateTime

__all__ = ["ApiToken"]


class ApiToken(Base):
    """A credential with a role; ``agent`` credentials are bound to one host."""

    __tablename__ = "api_token"
    __table_args__ = (
        CheckConstraint("role IN ('agent', 'viewer', 'operator', 'admin')", name="role"),
        CheckConstraint("role <> 'agent' OR host_id IS NOT NULL", name="agent_has_host"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    """UUIDv7; also the ``<id>`` part of the token string ``cs_<id>_<secret>``."""
    role: Mapped[str] = mapped_column(String(16))
    """``agent`` < ``viewer`` < ``operator`` < ``admin``."""
    host_id: Mapped[str | None] = mapped_column(String(253), index=True)
    """The one host an ``agent`` credential may write."""
    name: Mapped[str | None] = mapped_column(String(200))
    """Free-form label for humans."""
    secret_hash: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of the secret part; the secret itself is never stored."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Issue time."""
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Refused from this instant on (``None``: no expiry)."""
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Refused from this instant on (``None``: not revoked)."""
