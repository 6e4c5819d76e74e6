"""Request and response bodies of the enrollment and token endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from agent.wire import HOST_ID_PATTERN, HostFacts
from controlplane.domain.auth.tokens import Role

__all__ = [
    "EnrollRequest",
    "EnrollResponse",
    "EnrollmentTokenCreate",
    "EnrollmentTokenCreated",
    "EnrollmentTokenInfo",
    "TokenCreate",
    "TokenCreated",
    "TokenInfo",
]

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
Ttl = Annotated[int, msgspec.Meta(ge=1, le=10 * 365 * 86400)]


class EnrollRequest(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/enroll`` body."""

    host_id: Annotated[str, msgspec.Meta(pattern=HOST_ID_PATTERN)]
    """The identity this agent will write as."""
    facts: HostFacts | None = None
    """The host's facts, if known."""


class EnrollResponse(msgspec.Struct):
    """The agent's own credential (shown once)."""

    host_id: str
    """Host the credential is bound to."""
    token: str
    """Bearer token for ``POST /api/v1/telemetry``."""
    token_id: uuid.UUID
    """Credential id."""


class TokenCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/tokens`` body."""

    role: Role
    """agent, viewer, operator or admin."""
    host_id: Annotated[str, msgspec.Meta(pattern=HOST_ID_PATTERN)] | None = None
    """Required for (and only for) role agent."""
    name: Name | None = None
    """Label."""
    ttl_seconds: Ttl | None = None
    """Lifetime; none: no expiry."""


class TokenCreated(msgspec.Struct):
    """A new credential (the token is shown once)."""

    token_id: uuid.UUID
    """Credential id."""
    token: str
    """Bearer token."""
    role: Role
    """Role."""
    host_id: str | None
    """Bound host."""
    name: str | None
    """Label."""
    expires_at: datetime | None
    """Expiry."""


class TokenInfo(msgspec.Struct):
    """A credential as listed (never its secret or hash)."""

    token_id: uuid.UUID
    """Credential id."""
    role: Role
    """Role."""
    host_id: str | None
    """Bound host."""
    name: str | None
    """Label."""
    created_at: datetime
    """Issue time."""
    expires_at: datetime | None
    """Expiry."""
    revoked_at: datetime | None
    """Revocation time."""


class EnrollmentTokenCreate(msgspec.Struct, forbid_unknown_fields=True):
    """``POST /api/v1/enrollment-tokens`` body."""

    uses: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1
    """Enrollments allowed."""
    ttl_seconds: Ttl | None = None
    """Lifetime; none: the ``auth.enrollment_ttl_seconds`` setting."""
    name: Name | None = None
    """Label."""


class EnrollmentTokenCreated(msgspec.Struct):
    """A new enrollment token (shown once)."""

    token_id: uuid.UUID
    """Token id."""
    token: str
    """The enrollment token."""
    uses: int
    """Enrollments allowed."""
    expires_at: datetime
    """Expiry."""
    name: str | None
    """Label."""


class EnrollmentTokenInfo(msgspec.Struct):
    """An enrollment token as listed."""

    token_id: uuid.UUID
    """Token id."""
    name: str | None
    """Label."""
    uses_total: int
    """Enrollments allowed when issued."""
    uses_remaining: int
    """Enrollments left."""
    created_at: datetime
    """Issue time."""
    expires_at: datetime
    """Expiry."""
    revoked_at: datetime | None
    """Revocation time."""
