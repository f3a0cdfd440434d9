"""Schemathesis over the whole OpenAPI document, in this process (fixed seed, a few examples per
operation): no request the schema allows makes the server answer 5xx, and no answer contradicts
the schema. The app runs API-only (nothing executes the jobs a valid request creates) with an
admin key on every request, so creating a key cannot close the server mid-run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from schemathesis.specs.openapi.checks import response_schema_conformance

from montage.api.app import create_app
from montage.settings import Settings

pytestmark = pytest.mark.timeout(300)
AUTH: dict[str, str] = {}


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir = tmp_path_factory.mktemp("fuzz") / "data"
    app = create_app(Settings(data_dir=data_dir, rate_limit_per_s=0, video_max_wait_s=0.1), executes=False)
    loaded = schemathesis.openapi.from_asgi("/openapi.json", app)  # starts the app's lifespan, kept to the end
    AUTH["Authorization"] = f"Bearer {app.state.gate.keys.create('fuzz', 'admin').secret}"
    try:
        yield loaded
    finally:
        shutdown_lifespans()  # stop DBOS before the next module launches its own


#: An endless live feed; it has its own tests (tests/e2e/test_dashboard_api.py).
SKIPPED = {("GET", "/api/v1/events")}


def test_no_server_errors_and_no_schema_violations(api_schema: Any) -> None:
    """Every operation in turn (schemathesis's pytest plugin, ``from_fixture``, does not run on
    pytest 9), so one failure names its operation and the example that caused it."""
    checked = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue

        @given(case=operation.as_strategy())
        @settings(max_examples=3, derandomize=True, deadline=None, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def exercise(case: Any) -> None:
            case.call_and_validate(headers=AUTH, checks=[not_a_server_error, response_schema_conformance])

        exercise()
        checked += 1
    assert checked > 60
