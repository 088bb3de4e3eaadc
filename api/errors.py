"""One JSON error shape for every refusal: {"error": {"type", "message", "field"}}."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError

STATUS_BY_KIND = {
    "RuleViolation": 422,
    "NotAllowed": 403,
    "Conflict": 409,
    "NotFound": 404,
    "Unauthorized": 401,
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.field = status, kind, message, field
        self.headers = headers


def printable(text: str) -> str:
    """Text safe to echo in an answer: an unpaired surrogate from the input cannot be
    encoded as UTF-8 and would turn a refusal into a server error."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def error_body(kind: str, message: str, field: str | None = None, **extra: Any) -> dict:
    field = printable(field) if field is not None else None
    return {"error": {"type": kind, "message": printable(message), "field": field, **extra}}


def refusal(kind: str, message: str, field: str | None = None) -> ApiError:
    """A typed refusal (from a service or a workflow) as the matching HTTP error."""
    return ApiError(STATUS_BY_KIND.get(kind, 422), kind, message, field)


def unauthorized(message: str) -> ApiError:
    return ApiError(401, "Unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def _field_name(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def _page(request: Request, status: int, message: str):
    """A browser asking for a page gets an HTML error page (set by the web pages)."""
    make = getattr(request.app.state, "error_page", None)
    return make(request, status, message) if make else None


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        if page := _page(request, exc.status, exc.message):
            return page
        return JSONResponse(
            error_body(exc.kind, exc.message, exc.field), exc.status, headers=exc.headers
        )

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> JSONResponse:
        if page := _page(request, STATUS_BY_KIND.get(exc.kind, 422), exc.message):
            return page
        return JSONResponse(
            error_body(exc.kind, exc.message, exc.field), STATUS_BY_KIND.get(exc.kind, 422)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {
                "field": printable(_field_name(tuple(e["loc"]))),
                "rule": e["type"],
                "message": printable(e["msg"]),
            }
            for e in exc.errors()
        ]
        first = details[0] if details else {"field": None, "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        return JSONResponse(
            error_body("ValidationError", message, first["field"], details=details), 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if page := _page(request, exc.status_code, str(exc.detail)):
            return page
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        return JSONResponse(
            error_body(kind, str(exc.detail)),
            exc.status_code,
            headers=getattr(exc, "headers", None),
        )
