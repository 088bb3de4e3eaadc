"""Shift report pages: the reports of the organisation's sites, one report with its
figures, review and approval (for those the report waits for), its PDF and workbook, a
correction once locked; and the handover notes one shift leaves the next."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from api.deps import DbSession
from api.errors import ApiError, refusal
from api.permissions import door_of, doors_by, enforce, web_door
from api.routes import shift_reports as routes
from api.web import check_csrf, render
from api.web_errors import field_errors
from api.web_roles import shift_report_waiting
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import Site
from domain.rules import shift_reports as rules
from domain.rules.roles import Action, Scope
from domain.schemas.shift_reports import (
    ApproveIn,
    CorrectionIn,
    HandoverItemIn,
    HandoverNoteIn,
    ReviewIn,
)
from domain.services import handover
from domain.services import shift_reports as service
from workflows.shift_report import ShiftReportWorkflow
from workflows.shift_report_types import ApproveRequest, HandoverItem, ReviewRequest

router = APIRouter(include_in_schema=False)
Reader = Annotated[Actor, Depends(web_door(Action.VIEW_OEE, Scope.FULL))]
Floor = Annotated[Actor, Depends(web_door(Action.HANDOVER))]
ACT_DOORS = {
    "review": door_of(Action.APPROVE_SHIFT_REPORT),
    "approve": door_of(Action.APPROVE_SHIFT_REPORT),
    "correct": door_of(Action.APPROVE_SHIFT_REPORT),
}


@router.get("/shift-reports", response_class=HTMLResponse)
def reports_page(
    request: Request, session: DbSession, actor: Reader, site: str = "", status: str = ""
) -> HTMLResponse:
    rows, total = service.list_reports(
        session=session, organization_id=actor.organization_id, site=site[:40] or None,
        status=status[:12] or None, limit=200,
    )  # fmt: skip
    items = [routes.report_out(r, code) for r, code in rows]
    return render(request, "web/shift_reports.html", actor=actor, items=items, total=total,
                  site=site, status=status)  # fmt: skip


def _detail(request: Request, session, actor: Actor, ref: str, code: int = 200, **extra):
    report = routes.detail(session, actor, ref)
    row = service.get_report(session=session, organization_id=actor.organization_id, ref=ref)
    zone = session.get(Site, row.site_id).timezone
    notes, _ = handover.list_notes(
        session=session, organization_id=actor.organization_id, report=row.reference
    )
    may_review = (
        rules.review_refusal(
            roles=actor.roles, user_id=actor.user_id, supervisors=row.supervisor_ids or []
        )
        is None
    )
    return render(
        request, "web/shift_report.html", code, actor=actor, r=report, zone=zone,
        notes=[n for n, _ in notes], open=row.status in rules.EDITABLE, may_review=may_review,
        waiting=shift_report_waiting(), **extra,
    )  # fmt: skip


@router.get("/shift-reports/{ref}.pdf")
def report_pdf(ref: str, session: DbSession, actor: Reader) -> Response:
    return routes.export_file(session, actor, ref, "pdf")


@router.get("/shift-reports/{ref}.xlsx")
def report_xlsx(ref: str, session: DbSession, actor: Reader) -> Response:
    return routes.export_file(session, actor, ref, "xlsx")


@router.get("/shift-reports/{ref}", response_class=HTMLResponse)
def report_page(
    request: Request, ref: str, session: DbSession, actor: Reader, notice: str = ""
) -> HTMLResponse:
    return _detail(request, session, actor, ref, notice=notice[:200])


@router.post("/shift-reports/{ref}/do/{action}", response_class=HTMLResponse)
@doors_by("action", ACT_DOORS)
async def act(ref: str, action: str, request: Request, session: DbSession, actor: Reader):
    if action not in ACT_DOORS:
        raise ApiError(404, "NotFound", f"no action {action}")
    enforce(actor, ACT_DOORS[action])
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))
    client = request.app.state.temporal
    try:
        if action == "correct":
            data = CorrectionIn(reason=form.get("reason", ""))
            out = await routes.correct_report(ref, data, request, session, actor, client)
            target, notice = out["reference"], f"version {out['version']} is being drafted"
        else:
            if action == "review":
                data = ReviewIn(notes=form.get("notes", ""), handover=[
                    HandoverItemIn(message=form["handover"], priority=form.get("priority")
                                   or "normal", note_type=form.get("note_type") or "information")
                ] if form.get("handover", "").strip() else [])  # fmt: skip
                items = [HandoverItem(h.message, h.priority, h.note_type) for h in data.handover]
                method, req = ShiftReportWorkflow.review, ReviewRequest(actor, data.notes, items)
            else:
                data = ApproveIn(notes=form.get("notes") or None)
                method, req = ShiftReportWorkflow.approve, ApproveRequest(actor, data.notes)
            state = await routes.act(session, client, actor, ref, method, req)
            status = state["status"].lower().replace("_", " ")
            target, notice = state["reference"], f"report {status}"
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        if isinstance(err, DomainError):  # its own status: a locked report is a conflict
            err = refusal(err.kind, err.message, err.field)
        code, errors, message = field_errors(err)
        return _detail(request, session, actor, ref, code, error=message, errors=errors,
                       form=form, failed=action)  # fmt: skip
    return RedirectResponse(f"/shift-reports/{target}?{urlencode({'notice': notice})}", 303)


# -- handover notes --


def _notes_page(request, session, actor: Actor, site: str, code: int = 200, **extra):
    rows, total = handover.list_notes(
        session=session, organization_id=actor.organization_id, site=site[:40] or None, limit=200
    )
    refs = service.references_of(session, [n.shift_report_id for n, _ in rows])
    items = [routes.note_out(n, c, refs.get(n.shift_report_id)) for n, c in rows]
    sites = session.query(Site.code).filter(Site.organization_id == actor.organization_id).all()
    return render(
        request, "web/handover.html", code, actor=actor, items=items, total=total, site=site,
        sites=[s for (s,) in sites], priorities=rules.PRIORITIES, note_types=rules.NOTE_TYPES,
        **extra,
    )  # fmt: skip


@router.get("/handover", response_class=HTMLResponse)
def notes_page(
    request: Request, session: DbSession, actor: Floor, site: str = "", notice: str = ""
) -> HTMLResponse:
    return _notes_page(request, session, actor, site, notice=notice[:200])


@router.post("/handover/new", response_class=HTMLResponse)
async def new_note(request: Request, session: DbSession, actor: Floor):
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))
    try:
        data = HandoverNoteIn(site=form.get("site") or None, message=form.get("message", ""),
                              priority=form.get("priority") or "normal",
                              note_type=form.get("note_type") or "information")  # fmt: skip
        out = routes.create_note(data, session, actor)
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        code, errors, message = field_errors(err)
        return _notes_page(request, session, actor, form.get("site", ""), code, error=message,
                           errors=errors, form=form)  # fmt: skip
    notice = f"note left for shift {out['to_shift']} of {out['to_day']}"
    return RedirectResponse(f"/handover?{urlencode({'site': out['site'], 'notice': notice})}", 303)


@router.post("/handover/{note_id}/acknowledge", response_class=HTMLResponse)
async def acknowledge(note_id: int, request: Request, session: DbSession, actor: Floor):
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))
    try:
        out = routes.acknowledge_note(min(note_id, 2**31 - 1), session, actor)
    except (ApiError, DomainError) as err:
        session.rollback()
        if isinstance(err, DomainError):
            err = refusal(err.kind, err.message, err.field)
        code, _, message = field_errors(err)
        return _notes_page(request, session, actor, form.get("site", ""), code, error=message)
    notice = f"note {out['id']} acknowledged"
    return RedirectResponse(f"/handover?{urlencode({'site': out['site'], 'notice': notice})}", 303)
