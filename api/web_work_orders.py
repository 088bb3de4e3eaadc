"""Work-order pages: the centre (list and filter), the detail with its checklist and
actions, the return-to-service approval screen (H.5), the operator report form (H.6) and
the QR label each asset prints. Refusals re-show the page with the rule's message."""

import io
from datetime import UTC, datetime
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import func, select
from starlette.datastructures import UploadFile as StarletteUpload

from api import gateway
from api import work_order_actions as wo_actions
from api import work_order_content as wo_content
from api.deps import DbSession
from api.errors import ApiError
from api.gateway import WORK_ORDER
from api.input_guard import check_fields
from api.operator_reports import submit_report
from api.permissions import door_of, doors_by, enforce, web_door
from api.web import WebActor, check_csrf, render
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import Asset, User, WorkOrder
from domain.rules import work_orders as rules
from domain.rules.roles import Action
from domain.rules.work_order_doors import WO_DOORS
from domain.schemas.work_orders import (
    LaborIn,
    OperatorReportIn,
    PermitIn,
    ReportType,
    Severity,
    Symptom,
    TaskCompleteIn,
)
from domain.services import assets as asset_service
from domain.services import work_orders as service
from workflows.work_order import WorkOrderWorkflow
from workflows.work_order_types import FirstArticleRequest, MoveRequest, VerifyRequest

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Actor, Depends(web_door(Action.VIEW_DASHBOARD))]
AssetViewer = Annotated[Actor, Depends(web_door(Action.VIEW_ASSETS))]
Reporter = Annotated[Actor, Depends(web_door(Action.CREATE_WO))]
# The page's buttons, each by its name in the form's URL, behind the API's own doors.
ACT_DOORS = {name: door_of(*spec) for name, spec in WO_DOORS.items()}
CONTENT_FORM_DOORS = {
    "task-complete": door_of(Action.EXECUTE_WO),
    "labor": door_of(Action.EXECUTE_WO),
    "permit": door_of(Action.ISSUE_PERMITS),
    "permit-remove": door_of(Action.ISSUE_PERMITS),
    "file": door_of(Action.ADD_EVIDENCE),
}
MAX_PHOTOS = 5
SIMPLE = wo_actions.TRANSITIONS


def _error(err: Exception) -> tuple[int, str]:
    if isinstance(err, ApiError):
        return err.status, err.message
    if isinstance(err, DomainError):
        return 422, f"{err.field}: {err.message}" if err.field else err.message
    if isinstance(err, ValidationError):
        first = err.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        return 422, f"{field}: {first['msg'].removeprefix('Value error, ')}"
    raise err


@router.get("/work-orders", response_class=HTMLResponse)
def centre(
    request: Request,
    session: DbSession,
    actor: Viewer,
    status: str = "",
    type: str = "",
    asset: str = "",
) -> HTMLResponse:
    query = select(WorkOrder).where(WorkOrder.organization_id == actor.organization_id)
    if status:
        query = query.where(WorkOrder.status == status)
    if type:
        query = query.where(WorkOrder.type == type)
    if asset:
        query = query.join(Asset, Asset.id == WorkOrder.asset_id).where(
            Asset.asset_number == asset.upper()
        )
    rows = session.scalars(query.order_by(WorkOrder.id.desc()).limit(300)).all()
    counts = dict(
        session.execute(
            select(WorkOrder.status, func.count())
            .where(WorkOrder.organization_id == actor.organization_id)
            .group_by(WorkOrder.status)
        ).all()
    )
    assets = {
        a.id: a.asset_number
        for a in session.scalars(
            select(Asset).where(Asset.organization_id == actor.organization_id)
        ).all()
    }
    return render(
        request,
        "web/work_orders.html",
        actor=actor,
        rows=rows,
        assets=assets,
        counts=counts,
        statuses=list(rules.WoStatus),
        types=list(rules.WoType),
        filters={"status": status, "type": type, "asset": asset},
    )


async def _detail(
    request: Request, session, actor: Actor, number: str, status_code: int = 200, **extra
) -> HTMLResponse:
    wo = service.get(session, actor.organization_id, number)
    live = await _live(request, wo.number)
    asset = session.get(Asset, wo.asset_id)
    users = {
        u.id: u
        for u in session.scalars(
            select(User).where(User.organization_id == actor.organization_id)
        ).all()
    }
    history = wo_history(session, wo.number)
    template = extra.pop("template", "web/work_order_detail.html")
    return render(
        request,
        template,
        status_code,
        actor=actor,
        wo=wo,
        asset=asset,
        live=live or {},
        assignee=users.get(wo.assigned_to_id),
        technicians=[
            u
            for u in users.values()
            if {"MAINT_TECH", "FIELD_TECHNICIAN", "SENIOR_TECHNICIAN"} & set(u.roles)
        ],  # fmt: skip
        checklist=rules.VERIFICATION_CHECKLIST,
        evidence_kinds=list(rules.Evidence),
        required_evidence=sorted(rules.EVIDENCE.get(rules.WoType(wo.type), rules.DEFAULT_EVIDENCE)),
        history=history,
        notice=request.query_params.get("notice"),
        **extra,
    )


def wo_history(session, number: str) -> list:
    from domain.models import AuditLog

    return list(
        session.scalars(
            select(AuditLog)
            .where(AuditLog.entity_type == service.ENTITY, AuditLog.entity_id == number)
            .order_by(AuditLog.id)
        ).all()
    )


async def _live(request: Request, number: str) -> dict | None:
    return await gateway.live(request.app.state.temporal, number, WorkOrderWorkflow.get_state)


@router.get("/work-orders/{number}", response_class=HTMLResponse)
async def detail(number: str, request: Request, session: DbSession, actor: Viewer):
    return await _detail(request, session, actor, number)


@router.get("/work-orders/{number}/return-to-service", response_class=HTMLResponse)
async def rts_screen(number: str, request: Request, session: DbSession, actor: Viewer):
    return await _detail(request, session, actor, number, template="web/return_to_service.html")


@router.post("/work-orders/{number}/do/{action}", response_class=HTMLResponse)
@doors_by("action", ACT_DOORS)
async def act(number: str, action: str, request: Request, session: DbSession, actor: WebActor):
    if action not in ACT_DOORS:
        raise ApiError(404, "NotFound", f"no action {action}")
    enforce(actor, ACT_DOORS[action])
    number = gateway.own(session, actor, WORK_ORDER, number)
    form = {k: str(v) for k, v in (await request.form()).items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))
    client = request.app.state.temporal
    back = form.get("back", "")
    try:
        if action in SIMPLE:
            req = MoveRequest(actor, form.get("reason", ""))
            state = await gateway.update(client, WORK_ORDER, number, SIMPLE[action], req)
        elif action == "schedule":
            user = wo_actions.user_for(session, actor, form.get("assignee") or None)
            from activities.anomalies import Person

            who = Person(user.id, user.username, user.full_name) if user else None
            date = form.get("scheduled_date")
            when = datetime.fromisoformat(date).replace(tzinfo=UTC) if date else None
            session.rollback()
            from workflows.work_order_types import ScheduleRequest

            req = ScheduleRequest(actor, who, when, form.get("shift") or None)
            state = await gateway.update(
                client, WORK_ORDER, number, WorkOrderWorkflow.schedule, req
            )
        elif action == "verify":
            checks = {item: form.get(f"check_{i}") == "on" for i, item in enumerate(
                rules.VERIFICATION_CHECKLIST)}  # fmt: skip
            req = VerifyRequest(
                actor, checks, form.get("test_run_passed") == "on", form.get("notes", "")
            )
            state = await gateway.update(client, WORK_ORDER, number, WorkOrderWorkflow.verify, req)
        elif action == "first-article":
            req = FirstArticleRequest(actor, form.get("passed") == "yes", form.get("notes", ""))
            state = await gateway.update(
                client, WORK_ORDER, number, WorkOrderWorkflow.first_article, req
            )
        else:
            raise ApiError(404, "NotFound", f"no action {action}")
    except (ApiError, DomainError, ValidationError, ValueError) as err:
        session.rollback()
        code, message = _error(err) if not isinstance(err, ValueError) or isinstance(
            err, ValidationError) else (422, f"date: {err}")  # fmt: skip
        template = "web/return_to_service.html" if back == "rts" else "web/work_order_detail.html"
        return await _detail(
            request, session, actor, number, code, error=message, template=template
        )
    note = state.message or f"{action.replace('-', ' ')} recorded"
    target = (
        f"/work-orders/{number}/return-to-service" if back == "rts" else f"/work-orders/{number}"
    )
    return RedirectResponse(f"{target}?notice={note}", 303)


@router.post("/work-orders/{number}/content/{kind}", response_class=HTMLResponse)
@doors_by("kind", CONTENT_FORM_DOORS)
async def content(number: str, kind: str, request: Request, session: DbSession, actor: WebActor):
    if kind not in CONTENT_FORM_DOORS:
        raise ApiError(404, "NotFound", f"no content {kind}")
    enforce(actor, CONTENT_FORM_DOORS[kind])
    """Tasks, labour, permits and files from the detail page, through the same path as the API."""
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    client = request.app.state.temporal
    text = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    try:
        check_fields(text)
        if kind == "task-complete":
            seq = int(text.get("sequence", "0"))
            measured = text.get("measurement_value") or None
            value = TaskCompleteIn(measurement_value=measured).measurement_value  # finite
            await wo_content.complete_task(
                client, session, actor, number, seq, value, text.get("notes", "")
            )
        elif kind == "labor":
            hours = float(text.get("hours") or 0)
            if not 0 < hours <= 24:
                raise ApiError(422, "RuleViolation", "hours: between 0 and 24", "hours")
            labour = LaborIn(hours=hours, notes=text.get("notes") or None)
            await wo_content.log_labor(client, session, actor, number, labour)
        elif kind == "permit":
            sources = [x.strip() for x in text.get("energy_sources", "").split(",") if x.strip()]
            permit = PermitIn(
                kind=rules.PermitKind(text.get("kind", "LOTO")),
                energy_sources=sources,
                isolation_verified=text.get("isolation_verified") == "on",
            )
            await wo_content.issue_permit(client, session, actor, number, permit)
        elif kind == "permit-remove":
            unlock = text.get("kind", "LOTO")
            await wo_content.remove_permit(client, session, actor, number, unlock)
        elif kind == "file":
            upload = form.get("file")
            if not isinstance(upload, StarletteUpload) or not upload.filename:
                raise ApiError(422, "RuleViolation", "file: choose a file", "file")
            evidence = rules.Evidence(text.get("kind", "DOCUMENT"))
            await wo_content.attach_file(
                client, session, actor, number, evidence, upload.filename,
                upload.content_type or "", await upload.read(), text.get("description"),
            )  # fmt: skip
        else:
            raise ApiError(404, "NotFound", f"no content {kind}")
    except (ApiError, DomainError, ValueError) as err:
        code, message = _error(err) if type(err) is not ValueError else (422, str(err))
        return await _detail(request, session, actor, number, code, error=message)
    return RedirectResponse(f"/work-orders/{number}?notice={kind.replace('-', ' ')}+saved", 303)


# -- the operator report form and the asset's QR label --


def _report_form(request, session, actor, status_code=200, **extra) -> HTMLResponse:
    assets = session.scalars(
        select(Asset).where(Asset.organization_id == actor.organization_id).order_by(
            Asset.asset_number)
    ).all()  # fmt: skip
    return render(
        request,
        "web/operator_report.html",
        status_code,
        actor=actor,
        assets=assets,
        report_types=list(ReportType),
        severities=list(Severity),
        symptoms=list(Symptom),
        **extra,
    )


@router.get("/report", response_class=HTMLResponse)
def report_form(request: Request, session: DbSession, actor: Reporter, asset: str = ""):
    return _report_form(request, session, actor, form={"asset": asset.upper()})


@router.post("/report", response_class=HTMLResponse)
async def report_submit(request: Request, session: DbSession, actor: Reporter) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    photos = [f for f in form.getlist("photos") if isinstance(f, StarletteUpload) and f.filename]
    try:
        if len(photos) > MAX_PHOTOS:
            raise ApiError(422, "RuleViolation", f"photos: at most {MAX_PHOTOS}", "photos")
        data = OperatorReportIn(
            asset=values.get("asset", ""),
            report_type=values.get("report_type", ""),
            severity=values.get("severity", ""),
            symptom=values.get("symptom", ""),
            description=values.get("description", ""),
            stopped_equipment=values.get("stopped_equipment") == "yes",
            safety_hazard=values.get("safety_hazard") == "yes",
            impacted_job=values.get("impacted_job") or None,
        )
        files = [(p.filename, p.content_type or "", await p.read()) for p in photos]
        for name, content_type, _ in files:
            if not content_type.startswith("image/"):
                raise ApiError(422, "RuleViolation", f"photos: {name} is not an image", "photos")
        result = await submit_report(request.app.state, actor, data, files)
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        code, message = _error(err)
        return _report_form(request, session, actor, code, form=values, error=message)
    return RedirectResponse(
        f"/work-orders/{result['work_order']}?notice=Reported:+{result['work_order']}+opened", 303
    )


@router.get("/assets/{ref}/qr.svg")
def qr_label(ref: str, request: Request, session: DbSession, actor: AssetViewer) -> Response:
    asset = asset_service.get_asset(session=session, actor=actor, ref=ref)
    base = request.app.state.settings.public_url or str(request.base_url).rstrip("/")
    buffer = io.BytesIO()
    segno.make(f"{base}/report?asset={asset.asset_number}", error="m").save(
        buffer, kind="svg", scale=5, border=2, title=asset.asset_number
    )
    return Response(buffer.getvalue(), media_type="image/svg+xml")
