"""``GET /api/v1/hosts`` and ``GET /api/v1/hosts/{host_id}`` (viewer role or above)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import PathParameter, QueryParameter
from sqlalchemy.ext.asyncio import AsyncSession

from agent.wire import HOST_ID_PATTERN
from controlplane.domain.auth.deps import BEARER, VIEWERS, requires
from controlplane.domain.auth.services import Principal
from controlplane.domain.hosts.schemas import HostDetail, HostList, HostStatus
from controlplane.domain.hosts.services import get_host, list_hosts
from controlplane.openapi import AUTH, problems
from controlplane.settings import Settings

__all__ = ["HostController"]

NO_NUL = r"^[^\x00]*$"

SortKey = Literal["host_id", "-host_id", "last_seen", "-last_seen", "role", "-role", "hostname", "-hostname"]


class HostController(Controller):
    """The fleet inventory."""

    path = "/api/v1/hosts"
    tags = ["hosts"]
    dependencies = {"principal": requires(VIEWERS)}
    security = BEARER

    @get(operation_id="ListHosts", responses=problems(*AUTH, 400))
    async def list(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        status: Annotated[
            HostStatus | None, QueryParameter(description="Only hosts with this status")
        ] = None,
        role: Annotated[
            str | None, QueryParameter(max_length=64, pattern=NO_NUL, description="Only hosts with this role")
        ] = None,
        q: Annotated[
            str | None,
            QueryParameter(
                max_length=253, pattern=NO_NUL, description="Substring of host_id or hostname (any case)"
            ),
        ] = None,
        sort: Annotated[
            SortKey, QueryParameter(description="Sort key; '-' first for descending")
        ] = "host_id",
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 100,
        offset: Annotated[int, QueryParameter(ge=0, le=10_000_000)] = 0,
    ) -> HostList:
        """A filtered, sorted page of hosts with their status and latest sample, and the total."""
        return await list_hosts(
            db_session,
            now=datetime.now(UTC),
            settings=settings.hosts,
            status=status,
            role=role,
            search=q,
            sort=sort,
            limit=limit,
            offset=offset,
        )

    @get("/{host_id:str}", operation_id="GetHost", responses=problems(*AUTH, 400, 404))
    async def detail(
        self,
        db_session: NamedDependency[AsyncSession],
        principal: NamedDependency[Principal],
        settings: NamedDependency[Settings],
        host_id: Annotated[str, PathParameter(pattern=HOST_ID_PATTERN, description="Host identity")],
    ) -> HostDetail:
        """One host: facts, latest sample, last seen, status (up/stale/down)."""
        return await get_host(db_session, host_id, now=datetime.now(UTC), settings=settings.hosts)
