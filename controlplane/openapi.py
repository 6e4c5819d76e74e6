"""OpenAPI pieces Litestar cannot derive: the ingest body (read as a stream, not as a ``data`` argument).

The schema comes from msgspec itself, so it states exactly what ``agent.wire`` enforces (ranges,
``additionalProperties: false``, at most 10 000 samples), inlined because Litestar regenerates
``components.schemas`` from its own registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, cast

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, Operation, RequestBody, Schema

from agent.wire import Batch

__all__ = ["AUTH", "IngestOperation", "Problem", "inline_schema", "problems"]

AUTH = (401, 403, 503)
"""Statuses every authenticated, database-backed operation may answer."""


def inline_schema(type_: Any) -> dict[str, Any]:
    """The JSON Schema of a msgspec type with every ``$ref`` replaced by its definition (no recursion)."""
    root = msgspec.json.schema(type_)
    defs: dict[str, Any] = root.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    resolved: dict[str, Any] = resolve(root)
    return resolved


@dataclass
class IngestOperation(Operation):
    """The ``IngestTelemetry`` operation, with its request body documented (JSON, optionally gzip)."""

    def __post_init__(self) -> None:
        """Attach the batch schema as the request body."""
        schema = cast("Schema", inline_schema(Batch))
        self.request_body = RequestBody(
            required=True,
            description="An agent.wire.Batch as JSON; send Content-Encoding: gzip to compress it.",
            content={"application/json": OpenAPIMediaType(schema=schema)},
        )


class Problem(msgspec.Struct, omit_defaults=True):
    """An RFC 9457 problem (``application/problem+json``), as every error of the API is."""

    type: str
    """Stable problem type, ``urn:cloudsense:problem:<slug>``."""
    title: str
    """Short summary of the type."""
    status: int
    """HTTP status."""
    detail: str
    """What went wrong, for this request."""
    reason: str | None = None
    """Ingest refusals: the machine-readable reason (also the metric label)."""
    errors: list[dict[str, Any]] | None = None
    """Parameter and body validation errors, one per field."""


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses documenting problem+json answers with these statuses."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type="application/problem+json",
            description=HTTPStatus(status).phrase,
            generate_examples=False,
        )
        for status in statuses
    }
