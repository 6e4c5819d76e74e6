"""Issue, check, list and revoke credentials; exchange an enrollment token for an agent credential.

Every check reads the database (no cache): a revocation takes effect on the very next request.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import select, update

from controlplane.db.models import ApiToken, EnrollmentToken
from controlplane.domain.auth.tokens import (
    API_PREFIX,
    ENROLL_PREFIX,
    Role,
    hash_secret,
    new_secret,
    parse,
    render,
    secret_matches,
)
from controlplane.domain.hosts.services import record_enrollment
from controlplane.domain.telemetry.validation import has_nul
from controlplane.errors import NotAuthenticated, Unprocessable

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from agent.wire import HostFacts

__all__ = [
    "IssuedEnrollmentToken",
    "IssuedToken",
    "Principal",
    "authenticate",
    "enroll",
    "issue_api_token",
    "issue_enrollment_token",
    "list_api_tokens",
    "list_enrollment_tokens",
    "revoke_token",
]

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the credential's id, role and (for agents) host."""

    token_id: uuid.UUID
    """Credential id."""
    role: Role
    """Its role."""
    host_id: str | None
    """The host an agent credential is bound to."""
    name: str | None
    """Its label."""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new API credential; ``token`` is shown once and never stored."""

    token_id: uuid.UUID
    """Credential id (for listing and revocation)."""
    token: str
    """The bearer token ``cs_<id>_<secret>``."""
    role: Role
    """Its role."""
    host_id: str | None
    """Bound host (agents)."""
    name: str | None
    """Label."""
    expires_at: datetime | None
    """Expiry, if any."""


@dataclass(frozen=True, slots=True)
class IssuedEnrollmentToken:
    """A new enrollment token; ``token`` is shown once and never stored."""

    token_id: uuid.UUID
    """Token id."""
    token: str
    """The token ``cse_<id>_<secret>``."""
    uses: int
    """Enrollments it allows."""
    expires_at: datetime
    """Expiry."""
    name: str | None
    """Label."""


def _now() -> datetime:
    return datetime.now(UTC)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise NotAuthenticated("an Authorization: Bearer <token> header is required", error=None)
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("the Authorization header must be 'Bearer <token>'", error="invalid_request")
    return token.strip()


async def authenticate(
    session: AsyncSession, authorization: str | None, now: datetime | None = None
) -> Principal:
    """Resolve an ``Authorization`` header to a principal.

    Raises:
        NotAuthenticated: Missing, malformed, unknown, expired or revoked credential.
    """
    now = now or _now()
    parsed = parse(_bearer(authorization))
    if parsed is None or parsed.prefix != API_PREFIX:
        raise NotAuthenticated("the token is not a CloudSense API token")
    row = await session.get(ApiToken, parsed.token_id, populate_existing=True)
    if row is None or not secret_matches(parsed.secret, row.secret_hash):
        raise NotAuthenticated("unknown token")
    if row.revoked_at is not None:
        raise NotAuthenticated("the token has been revoked")
    if row.expires_at is not None and row.expires_at <= now:
        raise NotAuthenticated("the token has expired")
    structlog.contextvars.bind_contextvars(token_id=str(row.id))
    return Principal(token_id=row.id, role=Role(row.role), host_id=row.host_id, name=row.name)


async def issue_api_token(
    session: AsyncSession,
    role: Role,
    *,
    host_id: str | None = None,
    name: str | None = None,
    ttl_seconds: int | None = None,
    now: datetime | None = None,
) -> IssuedToken:
    """Create an API credential (flushed, not committed).

    Raises:
        Unprocessable: An agent credential without a host, or a host on another role.
    """
    now = now or _now()
    if (role is Role.AGENT) != (host_id is not None):
        raise Unprocessable("an agent credential needs host_id; other roles take none")
    secret = new_secret()
    expires_at = now + timedelta(seconds=ttl_seconds) if ttl_seconds is not None else None
    row = ApiToken(
        role=role.value,
        host_id=host_id,
        name=name,
        secret_hash=hash_secret(secret),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    log.info("token_issued", token_id=str(row.id), role=role.value, host_id=host_id)
    return IssuedToken(row.id, render(API_PREFIX, row.id, secret), role, host_id, name, expires_at)


async def issue_enrollment_token(
    session: AsyncSession,
    *,
    uses: int = 1,
    ttl_seconds: int = 3600,
    name: str | None = None,
    now: datetime | None = None,
) -> IssuedEnrollmentToken:
    """Create an enrollment token valid for ``uses`` enrollments (flushed, not committed)."""
    if uses < 1 or ttl_seconds < 1:
        raise Unprocessable("uses and ttl_seconds must be at least 1")
    now = now or _now()
    secret = new_secret()
    expires_at = now + timedelta(seconds=ttl_seconds)
    row = EnrollmentToken(
        name=name,
        secret_hash=hash_secret(secret),
        uses_total=uses,
        uses_remaining=uses,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    log.info("enrollment_token_issued", token_id=str(row.id), uses=uses)
    return IssuedEnrollmentToken(row.id, render(ENROLL_PREFIX, row.id, secret), uses, expires_at, name)


async def enroll(
    session: AsyncSession, authorization: str | None, host_id: str, facts: HostFacts | None
) -> IssuedToken:
    """Spend one use of an enrollment token on a new agent credential for ``host_id``.

    The use is taken by one conditional ``UPDATE`` (``uses_remaining > 0``, not expired, not revoked), so
    concurrent enrollments never overspend. Earlier agent credentials of the host are revoked.
    Flushed, not committed.

    Raises:
        NotAuthenticated: Unknown, expired, revoked or used-up enrollment token.
    """
    now = _now()
    parsed = parse(_bearer(authorization))
    if has_nul(facts):
        raise Unprocessable("facts may not contain NUL characters")
    if parsed is None or parsed.prefix != ENROLL_PREFIX:
        raise NotAuthenticated("an enrollment token (cse_...) is required")
    row = await session.get(EnrollmentToken, parsed.token_id, populate_existing=True)
    if row is None or not secret_matches(parsed.secret, row.secret_hash):
        raise NotAuthenticated("unknown enrollment token")
    if row.revoked_at is not None:
        raise NotAuthenticated("the enrollment token has been revoked")
    if row.expires_at <= now:
        raise NotAuthenticated("the enrollment token has expired")
    spent = await session.execute(
        update(EnrollmentToken)
        .where(
            EnrollmentToken.id == row.id,
            EnrollmentToken.uses_remaining > 0,
            EnrollmentToken.revoked_at.is_(None),
            EnrollmentToken.expires_at > now,
        )
        .values(uses_remaining=EnrollmentToken.uses_remaining - 1)
        .returning(EnrollmentToken.uses_remaining)
        .execution_options(synchronize_session=False)
    )
    if spent.scalar_one_or_none() is None:
        raise NotAuthenticated("the enrollment token has no uses left")
    # Lock the host row first: concurrent enrollments of one host then run one after the other, and the
    # second revokes the first's credential instead of missing it.
    await record_enrollment(session, host_id, facts, now)
    await session.execute(
        update(ApiToken)
        .where(ApiToken.role == Role.AGENT.value, ApiToken.host_id == host_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    issued = await issue_api_token(session, Role.AGENT, host_id=host_id, name=f"agent {host_id}", now=now)
    log.info("host_enrolled", host_id=host_id, enrollment_token_id=str(row.id), token_id=str(issued.token_id))
    return issued


async def list_api_tokens(session: AsyncSession) -> Sequence[ApiToken]:
    """Every API credential (hashes included: callers must not expose them)."""
    return (await session.scalars(select(ApiToken).order_by(ApiToken.created_at, ApiToken.id))).all()


async def list_enrollment_tokens(session: AsyncSession) -> Sequence[EnrollmentToken]:
    """Every enrollment token."""
    return (await session.scalars(select(EnrollmentToken).order_by(EnrollmentToken.created_at))).all()


async def revoke_token(session: AsyncSession, token_id: uuid.UUID, now: datetime | None = None) -> str | None:
    """Revoke an API or enrollment token by id (idempotent).

    Returns:
        ``"api"`` or ``"enrollment"`` for the kind found, ``None`` when no token has that id.
    """
    now = now or _now()
    for kind, row in (
        ("api", await session.get(ApiToken, token_id)),
        ("enrollment", await session.get(EnrollmentToken, token_id)),
    ):
        if row is not None:
            if row.revoked_at is None:
                row.revoked_at = now
                await session.flush()
            log.info("token_revoked", token_id=str(token_id), kind=kind)
            return kind
    return None
