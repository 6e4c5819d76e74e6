"""``enrollment_token``: exchanged by agents for their own ``agent`` credential."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from controlplane.db.base import Base, uuid7
from controlplane.db.types import UTCDateTime

__all__ = ["EnrollmentToken"]


class EnrollmentToken(Base):
    """A token valid for ``uses_total`` enrollments until ``expires_at`` (or revocation)."""

    __tablename__ = "enrollment_token"
    __table_args__ = (CheckConstraint("uses_remaining >= 0", name="uses_remaining_non_negative"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    """UUIDv7; also the ``<id>`` part of the token string ``cse_<id>_<secret>``."""
    name: Mapped[str | None] = mapped_column(String(200))
    """Free-form label for humans."""
    secret_hash: Mapped[str] = mapped_column(String(64))
    """Hex SHA-256 of the secret part."""
    uses_total: Mapped[int] = mapped_column(Integer)
    """Enrollments allowed when issued."""
    uses_remaining: Mapped[int] = mapped_column(Integer)
    """Enrollments left; decremented atomically (``UPDATE ... WHERE uses_remaining > 0``)."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Issue time."""
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    """Refused from this instant on."""
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """Refused from this instant on (``None``: not revoked)."""
