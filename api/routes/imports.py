"""Anomaly import from a workbook (seed 000 C4): the template, the upload that starts the
import's workflow, its progress and its annotated report."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, UploadFile, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile as AnyUpload
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from api import gateway
from api.deps import DbSession
from api.errors import ApiError
from api.jsonable import jsonable
from api.permissions import door
from domain.actor import Actor
from domain.models import AnomalyImport
from domain.rules import imports as rules
from domain.rules.roles import Action
from domain.schemas.imports import ImportOut
from domain.services import import_workbooks as workbooks
from domain.services import imports as service
from domain.settings import Settings
from workflows.anomaly_import import AnomalyImportWorkflow
from workflows.anomaly_import_types import AnomalyImportInput

router = APIRouter(prefix="/api/v1/anomalies/imports", tags=["anomaly imports"])
Importer = Annotated[Actor, Depends(door(Action.IMPORT_ANOMALIES))]


def workbook_response(content: bytes, filename: str) -> Response:
    return Response(
        content,
        media_type=rules.XLSX_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def read_upload(file: AnyUpload | None) -> tuple[bytes, str]:
    """The upload's bytes, refused at once when absent or over the limit."""
    if file is None or not file.filename:
        raise ApiError(422, "RuleViolation", "file: choose an .xlsx workbook", "file")
    content = await file.read(rules.MAX_FILE_BYTES + 1)
    if len(content) > rules.MAX_FILE_BYTES:
        limit = rules.MAX_FILE_BYTES // 1024 // 1024
        raise ApiError(413, "RuleViolation", f"file: the file is over {limit} MB", "file")
    return content, file.filename


async def upload_and_start(
    *,
    session: Session,
    client: Client,
    settings: Settings,
    actor: Actor,
    content: bytes,
    filename: str,
) -> tuple[dict[str, Any], bool]:
    """Check the workbook, store it and its import, start the import's workflow; the
    import's status and whether it is new. The same file again answers the first import."""
    rows = await run_in_threadpool(service.check_file, content)

    def store() -> tuple[int, int, str, bool]:
        imp, created = service.create_import(
            session=session, actor=actor, content=content, filename=filename, rows=rows
        )
        session.commit()  # the import stands even if Temporal is briefly away
        return imp.id, imp.organization_id, imp.state, created

    def answer_for(import_id: int) -> dict[str, Any]:
        imp = session.get(AnomalyImport, import_id)
        session.refresh(imp)
        answer = service.status_of(session, imp)
        session.rollback()
        return answer

    # The database parts off the event loop: it serves other requests meanwhile.
    import_id, organization_id, state, created = await run_in_threadpool(store)
    if created or state != rules.ImportStatus.DONE.value:
        await start(client, settings, actor, import_id, organization_id)
    answer = await run_in_threadpool(answer_for, import_id)
    answer["already_imported"] = not created
    return answer, created


async def start(
    client: Client, settings: Settings, actor: Actor, import_id: int, organization_id: int
) -> None:
    ref = service.reference(import_id)
    await gateway.start(
        client,
        AnomalyImportWorkflow.run,
        AnomalyImportInput(import_id, organization_id, actor),
        workflow_id=ref,
        task_queue=settings.task_queue,
        # An upload again while it runs finds it running. One that ended without closing
        # the import runs again: every step finds its work done and goes on from there.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        unavailable=f"import {ref} is stored, but it could not start yet ({{error}}); "
        "upload the same file again in a moment",
    )


@router.get("/template", summary="The workbook to fill: columns, instructions, pick lists")
def template(session: DbSession, actor: Importer) -> Response:
    return workbook_response(
        workbooks.template(session=session, actor=actor), "anomaly-import-template.xlsx"
    )


@router.post(
    "",
    response_model=ImportOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a workbook of anomalies (.xlsx, up to 10,000 rows); answers the import "
    "at once (202), or the earlier import of the same file (200)",
)
async def upload(
    request: Request, session: DbSession, actor: Importer, file: UploadFile | None = None
) -> Response:
    content, filename = await read_upload(file)
    state = request.app.state
    answer, created = await upload_and_start(
        session=session,
        client=state.temporal,
        settings=state.settings,
        actor=actor,
        content=content,
        filename=filename,
    )
    body = jsonable(ImportOut.model_validate(answer).model_dump())
    return JSONResponse(body, status_code=202 if created else 200)


@router.get("/{ref}", response_model=ImportOut, summary="An import's progress and counts")
def get_import(ref: str, session: DbSession, actor: Importer) -> dict[str, Any]:
    imp = service.get_import(session=session, organization_id=actor.organization_id, ref=ref)
    return service.status_of(session, imp)


@router.get("/{ref}/report", summary="The workbook back, each row with its status and message")
def report(ref: str, session: DbSession, actor: Importer) -> Response:
    imp = service.get_import(session=session, organization_id=actor.organization_id, ref=ref)
    name = f"{service.reference(imp.id)}-report.xlsx"
    return workbook_response(workbooks.report(session=session, imp=imp), name)
