"""Shift reports and handover notes of seed 002 under /api/v1/oee: lists and details from
the database, review and approval sent to the report's workflow (SHR-…) as updates, a
correction started as the next version, exports as PDF and Excel."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import Response
from sqlalchemy.orm import Session
from temporalio.exceptions import WorkflowAlreadyStartedError

from api import gateway
from api.deps import DbSession, TemporalClient, require
from api.errors import ApiError
from api.jsonable import jsonable
from api.params import Offset, RowId
from domain.actor import Actor
from domain.errors import RuleViolation
from domain.models import HandoverNote, ShiftReport
from domain.rules import shift_reports as rules
from domain.rules.roles import Action, Scope
from domain.schemas.fields import Key
from domain.schemas.shift_reports import (
    ApproveIn,
    CorrectionIn,
    CorrectionOut,
    Day,
    HandoverNoteIn,
    HandoverNoteList,
    HandoverNoteOut,
    ReviewIn,
    ShiftReportDetail,
    ShiftReportList,
    ShiftReportOut,
    ShiftReportStateOut,
)
from domain.services import handover
from domain.services import shift_report_exports as exports
from domain.services import shift_reports as service
from workflows.shift_report import ShiftReportWorkflow
from workflows.shift_report_types import (
    ApproveRequest,
    HandoverItem,
    ReviewRequest,
    ShiftReportInput,
)

router = APIRouter(prefix="/api/v1/oee", tags=["shift reports"])
SHIFT_REPORT = gateway.Lifecycle(
    "shift report", ShiftReport, ShiftReport.reference, "reference",
    gone="the shift report has no running lifecycle",
)  # fmt: skip
Reader = Annotated[Actor, Depends(require(Action.VIEW_OEE, Scope.FULL))]
Approver = Annotated[Actor, Depends(require(Action.APPROVE_SHIFT_REPORT))]
Floor = Annotated[Actor, Depends(require(Action.HANDOVER))]
Limit = Annotated[int, Query(ge=1, le=500)]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def report_out(r: ShiftReport, site: str) -> dict:
    return {
        "reference": r.reference, "site": site, "shift": r.shift_code, "day": r.shift_day,
        "version": r.version, "corrects": r.corrects, "correction_reason": r.correction_reason,
        "start": r.start_time, "end": r.end_time, "status": r.status, "oee_pct": r.oee_pct,
        "availability_pct": r.availability_pct, "performance_pct": r.performance_pct,
        "quality_pct": r.quality_pct, "total_output": r.total_output,
        "good_output": r.good_output, "scrap_count": r.scrap_count,
        "down_minutes": r.down_minutes, "planned_down_minutes": r.planned_down_minutes,
        "unplanned_down_minutes": r.unplanned_down_minutes, "kwh": r.kwh, "notes": r.notes,
        "reviewed_by": r.reviewed_by, "approved_by": r.approved_by,
        "approved_at": r.approved_at, "locked_at": r.locked_at, "reminders": r.reminders,
        "archived": r.archive_key is not None, "generated_at": r.generated_at,
    }  # fmt: skip


def note_out(n: HandoverNote, site: str, report: str | None = None) -> dict:
    return {
        "id": n.id, "site": site, "report": report, "from_shift": n.from_shift,
        "from_day": n.from_day, "to_shift": n.to_shift, "to_day": n.to_day,
        "note_type": n.note_type, "priority": n.priority, "message": n.message,
        "created_by": n.created_by, "created_at": n.created_at,
        "acknowledged_by": n.acknowledged_by, "acknowledged_at": n.acknowledged_at,
    }  # fmt: skip


def detail(session: Session, actor: Actor, ref: str) -> dict:
    rows = service.versions(session=session, organization_id=actor.organization_id, ref=ref)
    row = next(r for r in rows if r.reference == ref.upper())
    site = service.site_code_of(session, row)
    return {
        **report_out(row, site), "figures": jsonable(row.figures),
        "versions": [r.reference for r in rows], "latest": row is rows[-1],
    }  # fmt: skip


# -- shift reports --


@router.get("/shift-reports", response_model=ShiftReportList, summary="List shift reports")
def list_reports(
    session: DbSession,
    actor: Reader,
    site: Annotated[Key | None, Query()] = None,
    status_: Annotated[Key | None, Query(alias="status")] = None,
    start: Annotated[Day | None, Query()] = None,
    end: Annotated[Day | None, Query()] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    rows, total = service.list_reports(
        session=session, organization_id=actor.organization_id, site=site, status=status_,
        start=start, end=end, limit=limit, offset=offset,
    )  # fmt: skip
    items = [report_out(r, code) for r, code in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def export_file(session: Session, actor: Actor, ref: str, kind: str) -> Response:
    """The report as a PDF or a workbook, as a download named after it."""
    row = service.get_report(session=session, organization_id=actor.organization_id, ref=ref)
    view = exports.view(session, row)
    if kind == "pdf":
        content, media = exports.pdf(view), "application/pdf"
    else:
        content, media = exports.xlsx(view), XLSX
    disposition = f'attachment; filename="{row.reference}.{kind}"'
    return Response(content, media_type=media, headers={"Content-Disposition": disposition})


@router.get(
    "/shift-reports/{ref}.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    summary="A shift report as PDF",
)
def export_pdf(ref: str, session: DbSession, actor: Reader) -> Response:
    return export_file(session, actor, ref, "pdf")


@router.get(
    "/shift-reports/{ref}.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
    summary="A shift report as an Excel workbook",
)
def export_xlsx(ref: str, session: DbSession, actor: Reader) -> Response:
    return export_file(session, actor, ref, "xlsx")


@router.get("/shift-reports/{ref}", response_model=ShiftReportDetail, summary="A shift report")
def get_report(ref: str, session: DbSession, actor: Reader) -> dict:
    return detail(session, actor, ref)


@router.get(
    "/shift-reports/{ref}/versions",
    response_model=list[ShiftReportOut],
    summary="Every version of a shift's report, first to last",
)
def list_versions(ref: str, session: DbSession, actor: Reader) -> list[dict]:
    rows = service.versions(session=session, organization_id=actor.organization_id, ref=ref)
    site = service.site_code_of(session, rows[0])
    return [report_out(r, site) for r in rows]


async def act(session: Session, client, actor: Actor, ref: str, method, request) -> dict:
    """A locked report is refused here with its rule (its lifecycle has ended); an open
    one goes to its workflow, which checks who may review it. The API's and the page's."""
    await asyncio.to_thread(service.editable, session=session, actor=actor, ref=ref)
    state = await gateway.act(session, client, actor, SHIFT_REPORT, ref, method, request)
    return jsonable(state)


@router.post(
    "/shift-reports/{ref}/review",
    response_model=ShiftReportStateOut,
    summary="Review a draft: notes, and handover notes for the next shift",
)
async def review_report(
    ref: str, data: ReviewIn, session: DbSession, actor: Approver, client: TemporalClient
) -> dict:
    items = [HandoverItem(h.message, h.priority, h.note_type) for h in data.handover]
    request = ReviewRequest(actor, data.notes, items)
    return await act(session, client, actor, ref, ShiftReportWorkflow.review, request)


@router.post(
    "/shift-reports/{ref}/approve",
    response_model=ShiftReportStateOut,
    summary="Approve: the report is sent to management, archived and locked",
)
async def approve_report(
    ref: str,
    session: DbSession,
    actor: Approver,
    client: TemporalClient,
    data: ApproveIn | None = None,
) -> dict:
    request = ApproveRequest(actor, data.notes if data else None)
    return await act(session, client, actor, ref, ShiftReportWorkflow.approve, request)


@router.post(
    "/shift-reports/{ref}/versions",
    response_model=CorrectionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Correct a locked report: its next version, drafted afresh for review",
)
async def correct_report(
    ref: str,
    data: CorrectionIn,
    request: Request,
    session: DbSession,
    actor: Approver,
    client: TemporalClient,
) -> dict:
    def drafted() -> tuple[service.Correction, str]:
        fix = service.correction(session=session, actor=actor, ref=ref, reason=data.reason)
        site = fix.site.code  # read before the rollback expires it
        session.rollback()  # no transaction stays open across the Temporal call
        return fix, site

    fix, site = await asyncio.to_thread(drafted)  # off the event loop
    day = fix.window.day.isoformat()
    data_in = ShiftReportInput(
        actor.organization_id, site, fix.window.code, day, fix.version, fix.corrects,
        data.reason, actor,
    )  # fmt: skip
    reference = rules.reference(site, fix.window.day, fix.window.code, fix.version)
    try:
        await gateway.start(
            client, ShiftReportWorkflow.run, data_in, workflow_id=reference,
            task_queue=request.app.state.settings.task_queue,
            unavailable="Temporal did not answer ({error}); try again",
        )  # fmt: skip
    except WorkflowAlreadyStartedError:  # two corrections at once: the other one is it
        raise ApiError(
            409, "Conflict", f"{reference} is being drafted already", "reference"
        ) from None
    return {"reference": reference, "corrects": fix.corrects, "version": fix.version,
            "status": "COLLECTING"}  # fmt: skip


# -- handover notes --


@router.post(
    "/handover-notes",
    response_model=HandoverNoteOut,
    status_code=status.HTTP_201_CREATED,
    summary="Leave a note for the next shift",
)
def create_note(data: HandoverNoteIn, session: DbSession, actor: Floor) -> dict:
    if not data.site and not data.report:
        raise RuleViolation("site: name the site, or the report the note goes with", field="site")
    note = handover.create_note(
        session=session, actor=actor,
        data=handover.NoteIn(site=data.site or "", message=data.message, priority=data.priority,
                             note_type=data.note_type, shift=data.shift, day=data.day,
                             report=data.report),
    )  # fmt: skip
    out = note_out(note, service.site_code_of(session, note), data.report and data.report.upper())
    session.commit()
    return out


@router.get("/handover-notes", response_model=HandoverNoteList, summary="List handover notes")
def list_notes(
    session: DbSession,
    actor: Floor,
    site: Annotated[Key | None, Query()] = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
    report: Annotated[str | None, Query(max_length=60)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    rows, total = handover.list_notes(
        session=session, organization_id=actor.organization_id, site=site,
        open_only=open_only, report=report, limit=limit, offset=offset,
    )  # fmt: skip
    refs = service.references_of(session, [n.shift_report_id for n, _ in rows])
    items = [note_out(n, code, refs.get(n.shift_report_id)) for n, code in rows]
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.post(
    "/handover-notes/{note_id}/acknowledge",
    response_model=HandoverNoteOut,
    summary="The next shift acknowledges a note",
)
def acknowledge_note(note_id: RowId, session: DbSession, actor: Floor) -> dict:
    note = handover.acknowledge(session=session, actor=actor, note_id=note_id)
    refs = service.references_of(session, [note.shift_report_id])
    out = note_out(note, service.site_code_of(session, note), refs.get(note.shift_report_id))
    session.commit()
    return out
