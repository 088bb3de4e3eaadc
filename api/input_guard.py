"""The text rule applied to what no schema sees: the path, the query string and
url-encoded form bodies (web forms, the token endpoint's form). A NUL or a control
character there would otherwise reach a database query or a workflow."""

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError, error_body, printable
from domain.schemas.fields import text_problem

MAX_FIELD = 10_000  # the longest text any field takes (a description or a note)
MAX_FORM_BYTES = 1_000_000
FORM_TYPE = "application/x-www-form-urlencoded"


def _pairs_problem(pairs: list[tuple[str, str]]) -> tuple[str, str] | None:
    for name, value in pairs:
        for text in (name, value):
            problem = text_problem(text)
            if problem:
                return name, problem
        if len(value) > MAX_FIELD:
            return name, f"must be at most {MAX_FIELD} characters"
    return None


def _parse(raw: bytes) -> list[tuple[str, str]]:
    return parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)


def url_problem(scope: Scope) -> tuple[str, str] | None:
    problem = text_problem(scope.get("path", ""))
    if problem:
        return "path", problem
    return _pairs_problem(_parse(scope.get("query_string", b"")))


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def refusal(field: str, problem: str, status: int = 422) -> JSONResponse:
    field = printable(field)
    message = f"{field}: {problem}"
    detail = {"field": field, "rule": "text", "message": problem}
    return JSONResponse(error_body("ValidationError", message, field, details=[detail]), status)


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None past the limit."""
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


class InputGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> Any:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        problem = url_problem(scope)
        if problem:
            return await refusal(*problem)(scope, receive, send)
        if _header(scope, b"content-type").split(";")[0].strip().lower() == FORM_TYPE:
            body = await _read_body(receive, MAX_FORM_BYTES)
            if body is None:
                too_big = f"must be at most {MAX_FORM_BYTES} bytes"
                return await refusal("body", too_big, 413)(scope, receive, send)
            problem = _pairs_problem(_parse(body))
            if problem:
                return await refusal(*problem)(scope, receive, send)
            receive = _replay(body, receive)
        return await self.app(scope, receive, send)


def check_fields(fields: dict[str, str]) -> None:
    """The same rule for the text parts of a multipart form, which the guard leaves to
    the page (a body with files is not buffered twice)."""
    problem = _pairs_problem(list(fields.items()))
    if problem:
        name, why = problem
        raise ApiError(422, "ValidationError", f"{printable(name)}: {why}", printable(name))
