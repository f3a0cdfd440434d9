"""Bad requests on every contract, over ASGI in this process: each contract answers a body it
cannot parse in its own error shape, naming the body when the JSON is malformed, and
``/openapi.json`` documents the status and body each route really answers with."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from tests.support.databases import fresh_database
from tests.support.inprocess import running_app

pytestmark = pytest.mark.timeout(120)

Problem = Callable[[dict[str, Any]], tuple[str, str]]


def core_problem(body: dict[str, Any]) -> tuple[str, str]:
    return body["error"]["details"]["field"], body["error"]["message"]


def detail_problem(body: dict[str, Any]) -> tuple[str, str]:
    first = body["detail"][0]
    return ".".join(map(str, first["loc"])), first["msg"]


def video_problem(body: dict[str, Any]) -> tuple[str, str]:
    return body["field"], body["error"]


def task_problem(body: dict[str, Any]) -> tuple[str, str]:
    return body["details"]["field"], body["message"]


#: (create route, the status its contract answers an unparsable body with, where the body names the problem)
CREATE_ROUTES: list[tuple[str, int, Problem]] = [
    ("/jobs", 400, core_problem),  # Rematrix: NestJS answered 400
    ("/api/v1/jobs", 422, core_problem),
    ("/api/v1/keys", 422, core_problem),
    ("/api/jobs", 422, detail_problem),  # web media: FastAPI
    ("/servers/register", 422, detail_problem),
    ("/batch", 422, detail_problem),
    ("/workflows/", 422, detail_problem),
    ("/v1/videos/generations", 400, video_problem),
    ("/api/v1/tasks", 400, task_problem),
    ("/api/v1/tasks/batch", 400, task_problem),
]


@pytest.fixture
def client(backend: str, tmp_path: Path) -> Iterator[TestClient]:
    with fresh_database(backend, tmp_path) as url, running_app(tmp_path / "data", database_url=url) as (_, c):
        yield c


def post_json(client: TestClient, path: str, text: str) -> Any:
    return client.post(path, content=text.encode(), headers={"content-type": "application/json"})


def documented(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = document["paths"][path][method]["responses"]
    return responses


def assert_documented(document: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    """``status`` is a documented answer of the operation, and ``body`` fits its schema."""
    responses = documented(document, method, path)
    assert str(status) in responses, (method, path, status, sorted(responses))
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": document["components"]})


def test_malformed_json_names_the_body_and_where_it_breaks_in_each_contracts_shape(client: TestClient) -> None:
    for path, status, problem in CREATE_ROUTES:
        response = post_json(client, path, "{bad")
        assert response.status_code == status, (path, response.text)
        field, message = problem(response.json())
        assert field == "body", (path, response.text)
        assert "malformed JSON: Expecting property name enclosed in double quotes at line 1, column 2" in message, (
            path, message)
    second_line = post_json(client, "/jobs", '{"content": "# T",\n  "style": }').json()["error"]
    assert second_line["message"] == "body: malformed JSON: Expecting value at line 2, column 12", second_line


def test_a_missing_body_is_named_body(client: TestClient) -> None:
    assert core_problem(post_json(client, "/jobs", "").json()) == ("body", "body: Field required")
    assert detail_problem(post_json(client, "/api/jobs", "").json())[0] == "body"


def test_the_openapi_document_gives_each_routes_real_bad_request_answer(client: TestClient) -> None:
    document = client.get("/openapi.json").json()
    for path, status, _ in CREATE_ROUTES:
        response = post_json(client, path, "{bad")
        assert_documented(document, "post", path, status, response.json())
        if status != 422:
            assert "422" not in documented(document, "post", path), path
    queries = [("/jobs?limit=0", "/jobs", 400), ("/api/v1/tasks?page=0", "/api/v1/tasks", 400),
               ("/api/jobs?limit=0", "/api/jobs", 422), ("/api/v1/jobs?limit=0", "/api/v1/jobs", 422)]
    for url, path, status in queries:
        response = client.get(url)
        assert response.status_code == status, (url, response.text)
        assert_documented(document, "get", path, status, response.json())
    rematrix = [op for p, ops in document["paths"].items() if p.startswith("/jobs") for op in ops.values()]
    assert rematrix and not [op for op in rematrix if "422" in op["responses"]]
    assert "HTTPValidationError" not in document["components"]["schemas"]
