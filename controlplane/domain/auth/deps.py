"""Request dependencies: ``principal`` resolved from the bearer token and checked against a role set."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.openapi.spec import SecurityRequirement
from sqlalchemy.ext.asyncio import AsyncSession

from controlplane.domain.auth.services import Principal, authenticate
from controlplane.domain.auth.tokens import Role
from controlplane.errors import PermissionDenied

__all__ = ["ADMINS", "BEARER", "OPERATORS", "VIEWERS", "WRITERS", "requires"]

BEARER: list[SecurityRequirement] = [{"BearerToken": []}]
"""OpenAPI security requirement of authenticated endpoints."""

VIEWERS = frozenset({Role.VIEWER, Role.OPERATOR, Role.ADMIN})
"""May read the fleet."""
OPERATORS = frozenset({Role.OPERATOR, Role.ADMIN})
"""May act on the fleet."""
ADMINS = frozenset({Role.ADMIN})
"""May manage credentials."""
WRITERS = frozenset({Role.AGENT, Role.OPERATOR, Role.ADMIN})
"""May post telemetry (an agent: its own host only)."""


def requires(allowed: frozenset[Role]) -> Provide:
    """A ``principal`` dependency that admits only the given roles.

    Args:
        allowed: Roles admitted.

    Returns:
        The provider, to register under the key ``principal``.
    """
    names = ", ".join(sorted(r.value for r in allowed))

    async def principal(
        request: Request[Any, Any, Any], db_session: NamedDependency[AsyncSession]
    ) -> Principal:
        who = await authenticate(db_session, request.headers.get("authorization"))
        if who.role not in allowed:
            raise PermissionDenied(f"role {who.role.value!r} may not do this; allowed: {names}")
        return who

    provider: Callable[..., Awaitable[Principal]] = principal
    return Provide(provider)
