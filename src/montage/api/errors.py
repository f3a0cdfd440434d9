"""Errors to HTTP: one status table, and one body shape per contract.

Each facade registers its :class:`ErrorShape` for its path prefixes: its body, the model that
describes the body in ``/openapi.json`` (``api/openapi.py``), and the status of a request the
framework cannot parse. The core shape is ``{"error": {"code", "message", "details"}}``.
``HTTPException`` stays inside ``api/``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from montage import errors

#: HTTP status of each error class (the most specific class wins).
STATUS: dict[type[errors.MontageError], int] = {
    errors.ValidationFailed: 400,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.QueueFull: 503,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.TooManyRequests: 429,
    errors.ServiceUnavailable: 503,
}

BodyShape = Callable[[int, str, str, dict[str, Any]], dict[str, Any]]


def core_body(status: int, code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


class CoreError(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class CoreErrorBody(BaseModel):
    """The core error body, also the Rematrix contract's: `{"error": {code, message, details}}`."""

    error: CoreError


FieldName = Callable[[Sequence[str | int]], str]


def dotted_field(loc: Sequence[str | int]) -> str:
    """A pydantic ``loc`` as ``a.0.b`` (query and path parameters keep their ``query.`` / ``path.``)."""
    return ".".join(str(p) for p in loc if p != "body")


@dataclass(frozen=True)
class ErrorShape:
    """How one contract answers a failed request: the body (``shape``, described for OpenAPI by
    ``model``), and the status of a request the framework cannot parse (missing field, wrong type,
    malformed JSON) as that contract's server answered it, naming fields by ``field_name``."""

    shape: BodyShape
    model: type[BaseModel]
    validation_status: int = 422
    field_name: FieldName = dotted_field


CORE_SHAPE = ErrorShape(core_body, CoreErrorBody)


class ErrorShapes:
    """Which error shape answers a failed request, by path prefix (longest match wins)."""

    def __init__(self) -> None:
        self._shapes: list[tuple[str, ErrorShape]] = []

    def register(self, prefix: str, shape: ErrorShape) -> None:
        """Answer errors under ``prefix`` as ``shape`` says."""
        self._shapes.append((prefix, shape))
        self._shapes.sort(key=lambda item: len(item[0]), reverse=True)

    def for_path(self, path: str) -> BodyShape:
        return self.shape_of(path).shape

    def shape_of(self, path: str) -> ErrorShape:
        """The error shape of the contract serving ``path`` (a route template such as
        ``/jobs/{job_id}`` works too)."""
        for prefix, shape in self._shapes:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/") or path.startswith(prefix + "?"):
                return shape
        return CORE_SHAPE


def status_of(exc: errors.MontageError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]  # type: ignore[index]
    return 500


def _respond(request: Request, status: int, code: str, message: str, details: dict[str, Any],
             headers: dict[str, str] | None = None) -> JSONResponse:
    return error_response(request.app, request.url.path, status, code, message, details, headers)


def error_response(app: FastAPI, path: str, status: int, code: str, message: str, details: dict[str, Any],
                   headers: dict[str, str] | None = None) -> JSONResponse:
    """An error in the body shape of the contract that serves ``path`` (also for middleware)."""
    shapes: ErrorShapes = app.state.error_shapes
    body = shapes.for_path(path)(status, code, message, details)
    if status == 503 and headers is None:
        headers = {"Retry-After": "5"}
    return JSONResponse(body, status_code=status, headers=headers)


_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE", 401: "UNAUTHORIZED",
               403: "FORBIDDEN", 429: "RATE_LIMITED"}


def install_error_handlers(app: FastAPI) -> None:
    app.state.error_shapes = ErrorShapes()

    @app.exception_handler(errors.MontageError)
    async def _montage(request: Request, exc: errors.MontageError) -> JSONResponse:
        headers = None
        if isinstance(exc, errors.TooManyRequests):
            headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after_s)))}
        return _respond(request, status_of(exc), exc.code, exc.message, _jsonable(exc.details), headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        shape = request.app.state.error_shapes.shape_of(request.url.path)
        problems = request_problems(exc, shape.field_name)
        first = problems[0] if problems else {"field": "", "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return _respond(request, shape.validation_status, "VALIDATION_ERROR", message,
                        {"field": first["field"], "errors": _jsonable(problems)})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return _respond(request, exc.status_code, code, str(exc.detail), {})

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError) -> JSONResponse:
        return _respond(request, 503, "SERVICE_UNAVAILABLE", "the database is unavailable; try again", {})


def request_problems(exc: RequestValidationError, name: FieldName = dotted_field) -> list[dict[str, str]]:
    """FastAPI's validation errors as ``{field, message}``, fields named by ``name``. The body
    itself (malformed JSON, missing, not an object) is the field ``body``; pydantic's
    "Value error, " prefix is left out."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        if error.get("type") == "json_invalid":
            problems.append({"field": "body", "message": malformed_json(error, exc.body)})
        else:
            problems.append({"field": "body" if loc == ("body",) else name(loc),
                             "message": str(error["msg"]).removeprefix("Value error, ")})
    return problems


def malformed_json(error: Mapping[str, Any], document: Any) -> str:
    """What FastAPI's ``json_invalid`` error knows: the decoder's reason, and where it stopped
    (its ``loc`` ends with the character offset; ``document`` is the text it was reading)."""
    reason = (error.get("ctx") or {}).get("error") or error.get("msg") or "not JSON"
    offset = error["loc"][-1] if error.get("loc") else None
    return malformed_json_message(str(reason), document if isinstance(document, str) else None,
                                  offset if isinstance(offset, int) else None)


def malformed_json_message(reason: str, document: str | None, offset: int | None) -> str:
    """``malformed JSON: <reason> at line L, column C`` (the position when it is known)."""
    if document is None or offset is None:
        return f"malformed JSON: {reason}"
    line = document.count("\n", 0, offset) + 1
    column = offset - document.rfind("\n", 0, offset)
    return f"malformed JSON: {reason} at line {line}, column {column}"


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
