"""What the app applies at its edge, in one call: the input guard, the security
headers, the static files the pages' scripts come from, and an OpenAPI document that
declares the error shape the app really answers with."""

from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from api.input_guard import InputGuard
from api.security_headers import SecurityHeaders
from domain.settings import PROJECT_ROOT

STATIC_DIR = PROJECT_ROOT / "static"


class ErrorDetail(BaseModel):
    field: str | None = None
    rule: str | None = None
    message: str


class Error(BaseModel):
    type: str
    message: str
    field: str | None = None
    details: list[ErrorDetail] | None = None


class ErrorResponse(BaseModel):
    """Every refusal: {"error": {"type", "message", "field"}}."""

    error: Error


def _declare_errors(app: FastAPI) -> None:
    """FastAPI documents its own 422 body; the app answers with ErrorResponse."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = build()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in (ErrorDetail, Error, ErrorResponse):
            components[model.__name__] = model.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        ref = {"$ref": "#/components/schemas/ErrorResponse"}
        for path in schema.get("paths", {}).values():
            for operation in path.values():
                response = operation.get("responses", {}).get("422")
                if response:
                    response["content"] = {"application/json": {"schema": ref}}
        for model in (ErrorDetail, Error, ErrorResponse):
            components[model.__name__].pop("$defs", None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    # Added last, so they wrap everything else: refusals get the headers too.
    app.add_middleware(InputGuard)
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _declare_errors(app)
