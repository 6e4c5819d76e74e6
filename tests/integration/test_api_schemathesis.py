"""Property-based tests of every operation in /schema/openapi.json (schemathesis).

Checks: never a server error, and every answer (problems included) is documented: status code, content
type and body schema.

The server runs under uvicorn in a thread on its own throwaway database; every request carries an admin
token, so the generated inputs reach the handlers (the enrollment endpoint rightly answers 401 to it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import schemathesis
from cp_helpers import bearer, settings_for, threaded_server
from hypothesis import HealthCheck, settings
from pg import create_database, drop_database, run_sync
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from controlplane.db import migrate
from controlplane.provision import bootstrap_tokens

if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[str, str]]:
    url = run_sync(create_database("cloudsense_st"))
    try:
        migrate.upgrade(url)
        app_settings = settings_for(url)
        admin, _ = run_sync(bootstrap_tokens(app_settings))
        with threaded_server(app_settings) as base_url:
            yield base_url, admin.token
    finally:
        run_sync(drop_database(url))


@pytest.fixture
def api_schema(api: tuple[str, str]) -> Any:
    base_url, _ = api
    return schemathesis.openapi.from_url(f"{base_url}/schema/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_no_server_errors(case: Any, api: tuple[str, str]) -> None:
    _, token = api
    case.call_and_validate(
        headers=bearer(token),
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
