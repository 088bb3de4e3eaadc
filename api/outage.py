"""A database outage answers 503 with Retry-After instead of 500: the client (or the person
at the page) tries again, and the connection pool's pre-ping reconnects once the server is
back, so nothing needs restarting."""

import logging

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_body
from api.web import templates

RETRY_AFTER_SECONDS = 5
# What a down, restarting or overloaded server raises; integrity and data errors are not here.
# psycopg's own: the hot reads run on its connections without SQLAlchemy (api.read_pool).
OUTAGES: tuple[type[Exception], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
    psycopg.OperationalError,
    psycopg.InterfaceError,
)
log = logging.getLogger("plantops.api")
MESSAGE = "the database cannot be reached right now: retry in a few seconds"


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


def _same_page(request: Request) -> str:
    path = request.url.path
    if path.startswith("//"):  # a link to it would leave the site
        return "/"
    return f"{path}?{request.url.query}" if request.url.query else path


async def database_unavailable(request: Request, err: Exception) -> Response:
    cause = str(getattr(err, "orig", None) or err).strip().splitlines() or [type(err).__name__]
    log.warning("%s %s: database unavailable (%s)", request.method, request.url.path, cause[0])
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if not _is_page(request):
        body = error_body("ServiceUnavailable", MESSAGE, retry_after=RETRY_AFTER_SECONDS)
        return JSONResponse(body, 503, headers=headers)
    context = {
        "actor": None,
        "retry_after": RETRY_AFTER_SECONDS,
        "reload": request.method == "GET",  # never repeat a form post by itself
        "url": _same_page(request),
    }
    return templates.TemplateResponse(
        request, "web/unavailable.html", context, status_code=503, headers=headers
    )


class RetryAfterOn503:
    """Every 503 tells the client when to come back, also those built elsewhere (/health,
    Temporal not answering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_retry_after(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                headers = MutableHeaders(scope=message)
                headers.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
            await send(message)

        await self.app(scope, receive, send_with_retry_after)


def install(app: FastAPI) -> None:
    for kind in OUTAGES:
        app.add_exception_handler(kind, database_unavailable)
    app.add_middleware(RetryAfterOn503)
