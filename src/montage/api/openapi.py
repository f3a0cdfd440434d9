"""The OpenAPI document, with each route's bad-request answer as the route really gives it.

FastAPI documents every route with parameters or a body as answering 422 with its own
``{"detail": [...]}``. Here a request the framework cannot parse is answered by the contract
that serves the path (``ErrorShapes``): Rematrix, task-manager and async-video routes answer
400, and every contract in its own body. The document says so: the 422 entry is replaced by
that contract's status and body schema.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from montage.api.errors import ErrorShapes

#: FastAPI's own validation error schemas, dropped from the document once nothing refers to them.
_FASTAPI_SCHEMAS = ("HTTPValidationError", "ValidationError")
_REF = "#/components/schemas/{model}"


def install_openapi(app: FastAPI) -> None:
    """Serve ``/openapi.json`` with the bad-request answers of ``app.state.error_shapes``."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_bad_requests(build(), app.state.error_shapes)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def document_bad_requests(document: dict[str, Any], shapes: ErrorShapes) -> dict[str, Any]:
    """``document`` with each operation's 422 replaced by its contract's validation status and body."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if responses.pop("422", None) is None:
                continue
            shape = shapes.shape_of(path)
            answer = responses.setdefault(str(shape.validation_status), {"description": "Bad request"})
            answer["content"] = {"application/json": {"schema": {"$ref": _component(schemas, shape.model)}}}
    _drop_unreferenced(document, _FASTAPI_SCHEMAS)
    return document


def _component(schemas: dict[str, Any], model: type[BaseModel]) -> str:
    """``model``'s JSON schema under components (with the models it uses); its ``$ref``."""
    if model.__name__ not in schemas:
        schema = model.model_json_schema(ref_template=_REF)
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return _REF.format(model=model.__name__)


def _drop_unreferenced(document: dict[str, Any], names: tuple[str, ...]) -> None:
    schemas = document["components"]["schemas"]
    for name in names:  # HTTPValidationError first: it is what refers to ValidationError
        if name in schemas and json.dumps(_REF.format(model=name)) not in json.dumps(document):
            del schemas[name]
