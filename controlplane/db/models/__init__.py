"""The control plane's tables (one module per table, re-exported here)."""

from __future__ import annotations

from controlplane.db.models._api_token import ApiToken
from controlplane.db.models._enrollment_token import EnrollmentToken
from controlplane.db.models._host import Host
from controlplane.db.models._telemetry import TELEMETRY_COLUMNS, telemetry

__all__ = ["TELEMETRY_COLUMNS", "ApiToken", "EnrollmentToken", "Host", "telemetry"]
