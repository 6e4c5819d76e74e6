"""Errors of the control plane, and their one mapping to RFC 9457 ``application/problem+json``.

Services raise these; controllers never catch them; :func:`problem_details_config` turns them (and every
Litestar ``HTTPException``: 404, 405, validation) into problem details. Unexpected exceptions become a 500
whose ``detail`` is generic; the cause is logged with ``exc_info``.

Hierarchy::

    CloudSenseError                      500  urn:cloudsense:problem:internal
     ├── BadRequest                      400  ...:bad-request           malformed JSON, bad gzip
     ├── NotAuthenticated                401  ...:not-authenticated     missing/invalid/expired/revoked token
     ├── PermissionDenied                403  ...:permission-denied     role too low, another host's data
     ├── NotFound                        404  ...:not-found
     ├── Conflict                        409  ...:conflict
     ├── PayloadTooLarge                 413  ...:payload-too-large     body or decompressed body over limit
     ├── UnsupportedMediaType            415  ...:unsupported-media-type
     ├── Unprocessable                   422  ...:unprocessable         schema, range, NaN, timestamps
     ├── Overloaded                      429  ...:overloaded            with Retry-After
     └── Unavailable                     503  ...:unavailable           not ready (database, migrations)

A request the router cannot place (no such path: 404; a path without that method: 405, with ``Allow``) is
answered with the method and path and a pointer to the OpenAPI document (:func:`route_miss_handlers`).

Database outages (connection refused or lost, pool exhausted, SQLite busy) are answered 503 with
``Retry-After`` rather than 500: the request may succeed when retried, and agents retry 503.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

import structlog
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException
from sqlalchemy import exc as sa_exc

if TYPE_CHECKING:
    from litestar import Request, Response
    from litestar.types import ExceptionHandlersMap

__all__ = [
    "BadRequest",
    "CloudSenseError",
    "Conflict",
    "NotAuthenticated",
    "NotFound",
    "Overloaded",
    "PayloadTooLarge",
    "PermissionDenied",
    "Unavailable",
    "Unprocessable",
    "UnsupportedMediaType",
    "problem_details_config",
    "route_miss_handlers",
]

log = structlog.get_logger()
PROBLEM_URN = "urn:cloudsense:problem:"


class CloudSenseError(Exception):
    """Base of every error a service raises; subclasses declare status, title and type."""

    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal server error"
    slug: ClassVar[str] = "internal"

    def __init__(
        self, detail: str, *, headers: dict[str, str] | None = None, extra: dict[str, Any] | None = None
    ) -> None:
        """Create the error.

        Args:
            detail: What went wrong, for the client (never a secret, never a whole payload).
            headers: Response headers (e.g. ``WWW-Authenticate``, ``Retry-After``).
            extra: Additional members of the problem object.
        """
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra or {}

    @property
    def type(self) -> str:
        """The stable problem type URI."""
        return PROBLEM_URN + self.slug


class BadRequest(CloudSenseError):
    """The request cannot be parsed (malformed JSON, corrupt gzip)."""

    status, title, slug = 400, "Bad request", "bad-request"


class NotAuthenticated(CloudSenseError):
    """No valid credential: missing, unknown, malformed, expired or revoked."""

    status, title, slug = 401, "Not authenticated", "not-authenticated"

    def __init__(self, detail: str, *, error: str | None = "invalid_token") -> None:
        """Create the error with an RFC 6750 ``WWW-Authenticate`` challenge.

        Args:
            detail: Why the credential was refused.
            error: RFC 6750 error code, or ``None`` when no credential was sent at all.
        """
        challenge = 'Bearer realm="cloudsense"'
        if error:
            challenge += f', error="{error}", error_description="{detail}"'
        super().__init__(detail, headers={"WWW-Authenticate": challenge})


class PermissionDenied(CloudSenseError):
    """The credential is valid but may not do this."""

    status, title, slug = 403, "Permission denied", "permission-denied"


class NotFound(CloudSenseError):
    """The resource does not exist."""

    status, title, slug = 404, "Not found", "not-found"


class Conflict(CloudSenseError):
    """The request conflicts with the current state."""

    status, title, slug = 409, "Conflict", "conflict"


class PayloadTooLarge(CloudSenseError):
    """The body (as sent, or once decompressed) is over its limit: split it."""

    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedMediaType(CloudSenseError):
    """Unsupported ``Content-Type`` or ``Content-Encoding``."""

    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


class Unprocessable(CloudSenseError):
    """Well-formed but invalid: wrong types, unknown fields, out-of-range values, bad timestamps."""

    status, title, slug = 422, "Unprocessable content", "unprocessable"


class Overloaded(CloudSenseError):
    """Too much work in progress: retry after the given delay."""

    status, title, slug = 429, "Too many requests", "overloaded"

    def __init__(self, detail: str, *, retry_after_seconds: int) -> None:
        """Create the error.

        Args:
            detail: What is saturated.
            retry_after_seconds: Sent as ``Retry-After``.
        """
        super().__init__(detail, headers={"Retry-After": str(retry_after_seconds)})


class Unavailable(CloudSenseError):
    """The service cannot serve now (database down, schema not at head)."""

    status, title, slug = 503, "Service unavailable", "unavailable"


def _from_cloudsense_error(exc: CloudSenseError) -> ProblemDetailsException:
    if exc.status >= 500 and type(exc) is CloudSenseError:
        log.error("internal_error", exc_info=exc)
        return _internal()
    return ProblemDetailsException(
        detail=exc.detail,
        status_code=exc.status,
        headers=exc.headers or None,
        extra=exc.extra or None,
        type_=exc.type,
        title=exc.title,
    )


def _from_http_exception(exc: HTTPException) -> ProblemDetailsException:
    if exc.status_code >= 500:
        log.error("internal_error", exc_info=exc)
        return _internal(exc.status_code, exc.headers)
    phrase = HTTPStatus(exc.status_code).phrase
    extra: dict[str, Any] | None = None
    if isinstance(exc, ValidationException) and exc.extra:
        extra = {"errors": exc.extra}
    elif isinstance(exc.extra, dict):
        extra = exc.extra
    slug = phrase.lower().replace(" ", "-")
    return ProblemDetailsException(
        detail=exc.detail or phrase,
        status_code=exc.status_code,
        headers=exc.headers,
        extra=extra,
        type_=PROBLEM_URN + slug,
        title=phrase,
    )


TRANSIENT_DB_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError, OSError)
"""Errors that mean "the database is unreachable or busy now", not "this request is wrong"."""
DB_RETRY_AFTER_SECONDS = 5


def _is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT_DB_ERRORS):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


def _from_unexpected(exc: Exception) -> ProblemDetailsException:
    if _is_transient(exc):
        log.warning("database_unavailable", error=type(exc).__name__, cause=type(exc.__cause__).__name__)
        return ProblemDetailsException(
            detail="The database is unavailable; retry later.",
            status_code=503,
            headers={"Retry-After": str(DB_RETRY_AFTER_SECONDS)},
            type_=PROBLEM_URN + "unavailable",
            title=HTTPStatus(503).phrase,
        )
    log.error("internal_error", exc_info=exc)
    return _internal()


def _internal(status: int = 500, headers: dict[str, str] | None = None) -> ProblemDetailsException:
    return ProblemDetailsException(
        detail="The server failed to process the request; the error has been logged.",
        status_code=status,
        headers=headers,
        type_=PROBLEM_URN + "internal",
        title=HTTPStatus(status).phrase,
    )


OPENAPI_PATH = "/schema/openapi.json"


def _route_miss(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    """The router's bare 404/405 ("Not Found"), with the method, the path and where the routes are listed."""
    detail, headers = exc.detail, dict(exc.headers or {})
    # The router builds Allow from a set: its order changes from process to process. Sorted, it is stable.
    allow = ", ".join(
        sorted(m.strip() for k, v in headers.items() if k.lower() == "allow" for m in v.split(","))
    )
    if allow:
        headers = {k: v for k, v in headers.items() if k.lower() != "allow"} | {"Allow": allow}
    if not detail or detail == HTTPStatus(exc.status_code).phrase:  # the router's default, not a handler's
        method, path = request.method, request.url.path
        if exc.status_code == 405:
            takes = f" (it takes {allow})" if allow else ""
            detail = f"{method} is not allowed on {path}{takes}; the API is described at {OPENAPI_PATH}"
        else:
            detail = f"no route {method} {path}; the API is described at {OPENAPI_PATH}"
    explained = type(exc)(detail=detail, headers=headers, extra=exc.extra)
    return _from_http_exception(explained).to_response(request)


def route_miss_handlers() -> ExceptionHandlersMap:
    """Handlers for the router's 404 and 405 (chosen before the plugin's general ``HTTPException`` one)."""
    return {NotFoundException: _route_miss, MethodNotAllowedException: _route_miss}


def problem_details_config() -> ProblemDetailsConfig:
    """The one mapping from exceptions to problem details (wire it with ``ProblemDetailsPlugin``)."""
    return ProblemDetailsConfig(
        enable_for_all_http_exceptions=True,
        exception_to_problem_detail_map={
            CloudSenseError: _from_cloudsense_error,
            HTTPException: _from_http_exception,
            Exception: _from_unexpected,
        },
    )
