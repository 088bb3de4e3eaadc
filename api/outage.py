"""A database outage answers 503 with Retry-After instead of 500: the client (or the person
at the page) tries again, and the connection pool's pre-ping reconnects once the server is
back, so nothing needs restarting."""

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc

from api.errors import error_body
from api.web import templates

RETRY_AFTER_SECONDS = 5
# What a down, restarting or overloaded server raises; integrity and data errors are not here.
OUTAGES: tuple[type[Exception], ...] = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError)
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


def install(app: FastAPI) -> None:
    for kind in OUTAGES:
        app.add_exception_handler(kind, database_unavailable)
