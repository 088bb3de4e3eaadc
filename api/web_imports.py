"""The anomaly import page: download the template, upload a workbook, watch its progress
(the page asks a small endpoint every few seconds) and fetch the annotated report."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from api.deps import DbSession
from api.errors import ApiError
from api.jsonable import jsonable
from api.permissions import web_door
from api.routes.imports import read_upload, upload_and_start, workbook_response
from api.web import check_csrf, render
from domain.actor import Actor
from domain.errors import DomainError
from domain.rules import imports as rules
from domain.rules.roles import Action
from domain.services import import_workbooks as workbooks
from domain.services import imports as service

router = APIRouter(include_in_schema=False)
Importer = Annotated[Actor, Depends(web_door(Action.IMPORT_ANOMALIES))]


def _page(
    request: Request,
    session: DbSession,
    actor: Actor,
    current: dict[str, Any] | None = None,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    imports = service.recent(session=session, organization_id=actor.organization_id)
    return render(
        request,
        "web/imports.html",
        status_code,
        actor=actor,
        imports=imports,
        current=current,
        version=version(current),
        errors=errors or {},
        reference=service.reference,
        max_rows=rules.MAX_ROWS,
        max_mb=rules.MAX_FILE_BYTES // 1024 // 1024,
    )


def version(current: dict[str, Any] | None) -> str:
    """What changes while an import runs: the page reloads when it does."""
    if not current:
        return ""
    return f"{current['state']}|{current['processed']}"


@router.get("/imports", response_class=HTMLResponse)
def imports_page(
    request: Request, session: DbSession, actor: Importer, id: str = "", again: str = ""
) -> Response:
    current = None
    if id:
        imp = service.get_import(session=session, organization_id=actor.organization_id, ref=id)
        current = {**service.status_of(session, imp), "already_imported": again == "1"}
    return _page(request, session, actor, current)


@router.post("/imports", response_class=HTMLResponse)
async def upload_form(request: Request, session: DbSession, actor: Importer) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    file = form.get("file")
    try:
        content, filename = await read_upload(file if isinstance(file, UploadFile) else None)
        answer, created = await upload_and_start(
            session=session,
            client=request.app.state.temporal,
            settings=request.app.state.settings,
            actor=actor,
            content=content,
            filename=filename,
        )
    except (ApiError, DomainError) as err:
        session.rollback()
        code = err.status if isinstance(err, ApiError) else 422
        return _page(request, session, actor, None, code, {err.field or "file": err.message})
    again = "" if created else "&again=1"
    return RedirectResponse(f"/imports?id={answer['id']}{again}", 303)


@router.get("/imports/template")
def template_download(session: DbSession, actor: Importer) -> Response:
    return workbook_response(
        workbooks.template(session=session, actor=actor), "anomaly-import-template.xlsx"
    )


@router.get("/imports/{ref}/progress")
def progress(ref: str, session: DbSession, actor: Importer) -> JSONResponse:
    imp = service.get_import(session=session, organization_id=actor.organization_id, ref=ref)
    current = service.status_of(session, imp)
    return JSONResponse(jsonable({**current, "version": version(current)}))


@router.get("/imports/{ref}/report")
def report_download(ref: str, session: DbSession, actor: Importer) -> Response:
    imp = service.get_import(session=session, organization_id=actor.organization_id, ref=ref)
    name = f"{service.reference(imp.id)}-report.xlsx"
    return workbook_response(workbooks.report(session=session, imp=imp), name)
