"""``/api/v1/enroll`` (enrollment token → agent credential) and ``/api/v1/tokens`` (admins)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from controlplane.domain.auth import services
from controlplane.domain.auth.deps import ADMINS, BEARER, requires
from controlplane.domain.auth.schemas import (
    EnrollmentTokenCreate,
    EnrollmentTokenCreated,
    EnrollmentTokenInfo,
    EnrollRequest,
    EnrollResponse,
    TokenCreate,
    TokenCreated,
    TokenInfo,
)
from controlplane.domain.auth.services import Principal
from controlplane.domain.auth.tokens import Role
from controlplane.errors import NotFound
from controlplane.openapi import AUTH, problems
from controlplane.settings import Settings

__all__ = ["EnrollController", "TokenController"]


class EnrollController(Controller):
    """Agents exchange an enrollment token for their own credential."""

    path = "/api/v1/enroll"
    tags = ["auth"]

    @post(
        operation_id="EnrollHost",
        status_code=HTTP_201_CREATED,
        security=BEARER,
        responses=problems(400, 401, 422, 503),
    )
    async def enroll(
        self,
        request: Request[Any, Any, Any],
        db_session: NamedDependency[AsyncSession],
        data: JSONBody[EnrollRequest],
    ) -> EnrollResponse:
        """Spend one use of the enrollment token (``Authorization: Bearer cse_...``) on an agent credential
        bound to ``host_id``. Re-enrolling a host revokes its earlier agent credentials."""
        issued = await services.enroll(
            db_session, request.headers.get("authorization"), data.host_id, data.facts
        )
        await db_session.commit()
        return EnrollResponse(host_id=data.host_id, token=issued.token, token_id=issued.token_id)


class TokenController(Controller):
    """Credential management (admin role)."""

    path = "/api/v1"
    tags = ["auth"]
    dependencies = {"principal": requires(ADMINS)}
    security = BEARER

    @post(
        "/tokens",
        operation_id="CreateToken",
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTH, 400, 422),
    )
    async def create_token(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        data: JSONBody[TokenCreate],
    ) -> TokenCreated:
        """Issue an API credential; the token appears in this response only."""
        issued = await services.issue_api_token(
            db_session, data.role, host_id=data.host_id, name=data.name, ttl_seconds=data.ttl_seconds
        )
        await db_session.commit()
        return TokenCreated(
            token_id=issued.token_id,
            token=issued.token,
            role=issued.role,
            host_id=issued.host_id,
            name=issued.name,
            expires_at=issued.expires_at,
        )

    @get("/tokens", operation_id="ListTokens", responses=problems(*AUTH))
    async def list_tokens(
        self, db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> list[TokenInfo]:
        """Every API credential (never secrets)."""
        rows = await services.list_api_tokens(db_session)
        return [
            TokenInfo(
                token_id=r.id,
                role=Role(r.role),
                host_id=r.host_id,
                name=r.name,
                created_at=r.created_at,
                expires_at=r.expires_at,
                revoked_at=r.revoked_at,
            )
            for r in rows
        ]

    @delete(
        "/tokens/{token_id:uuid}",
        operation_id="RevokeToken",
        status_code=HTTP_204_NO_CONTENT,
        responses=problems(*AUTH, 400, 404),
    )
    async def revoke(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        token_id: FromPath[uuid.UUID],
    ) -> None:
        """Revoke an API or enrollment token; effective on the next request."""
        if await services.revoke_token(db_session, token_id) is None:
            raise NotFound(f"no token {token_id}")
        await db_session.commit()

    @post(
        "/enrollment-tokens",
        operation_id="CreateEnrollmentToken",
        status_code=HTTP_201_CREATED,
        responses=problems(*AUTH, 400, 422),
    )
    async def create_enrollment_token(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        data: JSONBody[EnrollmentTokenCreate],
    ) -> EnrollmentTokenCreated:
        """Issue an enrollment token valid for ``uses`` enrollments; the token appears here only."""
        issued = await services.issue_enrollment_token(
            db_session,
            uses=data.uses,
            ttl_seconds=data.ttl_seconds or settings.auth.enrollment_ttl_seconds,
            name=data.name,
        )
        await db_session.commit()
        return EnrollmentTokenCreated(
            token_id=issued.token_id,
            token=issued.token,
            uses=issued.uses,
            expires_at=issued.expires_at,
            name=issued.name,
        )

    @get("/enrollment-tokens", operation_id="ListEnrollmentTokens", responses=problems(*AUTH))
    async def list_enrollment_tokens(
        self, db_session: NamedDependency[AsyncSession], principal: NamedDependency[Principal]
    ) -> list[EnrollmentTokenInfo]:
        """Every enrollment token (never secrets)."""
        rows = await services.list_enrollment_tokens(db_session)
        return [
            EnrollmentTokenInfo(
                token_id=r.id,
                name=r.name,
                uses_total=r.uses_total,
                uses_remaining=r.uses_remaining,
                created_at=r.created_at,
                expires_at=r.expires_at,
                revoked_at=r.revoked_at,
            )
            for r in rows
        ]
