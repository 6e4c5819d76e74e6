"""The exception -> problem+json mapping, and the OpenAPI pieces built from msgspec."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import exc as sa_exc

from agent.wire import Batch
from controlplane.errors import (
    CloudSenseError,
    NotAuthenticated,
    Overloaded,
    Unprocessable,
    _from_cloudsense_error,
    _from_unexpected,
)
from controlplane.openapi import inline_schema


def test_service_errors_keep_status_type_detail_and_headers() -> None:
    problem = _from_cloudsense_error(Overloaded("busy", retry_after_seconds=3))
    assert (problem.status_code, problem.type_, problem.detail) == (
        429,
        "urn:cloudsense:problem:overloaded",
        "busy",
    )
    assert problem.headers == {"Retry-After": "3"}
    challenge = _from_cloudsense_error(NotAuthenticated("the token has expired")).headers
    assert challenge is not None
    assert challenge["WWW-Authenticate"].startswith('Bearer realm="cloudsense", error="invalid_token"')
    assert _from_cloudsense_error(Unprocessable("x", extra={"reason": "r"})).extra == {"reason": "r"}


def test_unexpected_errors_are_generic_500s() -> None:
    for error in (CloudSenseError("secret internals"), RuntimeError("secret internals")):
        problem = (
            _from_unexpected(error) if isinstance(error, RuntimeError) else _from_cloudsense_error(error)
        )
        assert problem.status_code == 500
        assert "secret" not in problem.detail


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        sa_exc.OperationalError("SELECT 1", {}, Exception("database is locked")),
        sa_exc.TimeoutError("QueuePool limit reached"),
    ],
)
def test_database_outages_are_503_with_retry_after(error: Exception) -> None:
    problem = _from_unexpected(error)
    assert problem.status_code == 503
    assert problem.headers is not None and problem.headers["Retry-After"].isdigit()


def test_programming_errors_stay_500() -> None:
    assert _from_unexpected(sa_exc.ProgrammingError("SELECT", {}, Exception("syntax"))).status_code == 500


def test_inline_schema_has_no_references() -> None:
    schema = inline_schema(Batch)
    assert "$ref" not in json.dumps(schema)
    assert schema["additionalProperties"] is False
    assert schema["properties"]["samples"]["items"]["properties"]["cpu_util"]["anyOf"][0]["maximum"] == 100.0
