"""Work-order pages: the centre (list and filter), the detail with its checklist and
actions, the return-to-service approval screen (H.5), the operator report form (H.6) and
the QR label each asset prints. Refusals re-show the page with the rule's message."""

import asyncio
import io
from typing import Annotated
from urllib.parse import urlencode

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
from api.web_errors import field_errors
from api.web_roles import Steps, approvers, waiting_for
from api.web_words import asset_zone, from_local_input, site_zones
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import Asset, User, WorkOrder
from domain.rules import work_orders as rules
from domain.rules.roles import Action, Scope
from domain.rules.work_order_doors import WO_DOORS
from domain.schemas.work_orders import (
    LaborIn,
    OperatorReportIn,
    PermitIn,
    ReportType,
    Severity,
    Symptom,
    TaskCompleteIn,
    TaskEditIn,
    TaskIn,
    WorkOrderUpdate,
)
from domain.services import assets as asset_service
from domain.services import breakdowns as breakdown_service
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
    "task-add": door_of(Action.CREATE_WO, Scope.FULL),
    "task-edit": door_of(Action.CREATE_WO, Scope.FULL),
    "task-remove": door_of(Action.CREATE_WO, Scope.FULL),
    "details": door_of(Action.CREATE_WO, Scope.FULL),
}
MAX_PHOTOS = 5
SIMPLE = wo_actions.TRANSITIONS


@router.get("/work-orders", response_class=HTMLResponse)
def centre(
    request: Request,
    session: DbSession,
    actor: Viewer,
    status: str = "",
    type: str = "",
    asset: str = "",
    q: str = "",
) -> HTMLResponse:
    query = select(WorkOrder).where(WorkOrder.organization_id == actor.organization_id)
    if q.strip():  # closed work orders are found again by number, title or asset
        like = f"%{q.strip()[:100]}%"
        query = query.where(
            WorkOrder.number.ilike(like)
            | WorkOrder.title.ilike(like)
            | WorkOrder.asset_id.in_(select(Asset.id).where(Asset.asset_number.ilike(like)))
        )
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
    every_asset = session.scalars(
        select(Asset).where(Asset.organization_id == actor.organization_id)
    ).all()
    assets = {a.id: a.asset_number for a in every_asset}
    return render(
        request,
        "web/work_orders.html",
        actor=actor,
        rows=rows,
        assets=assets,
        sites={a.id: a.site_id for a in every_asset},
        zones=site_zones(session, actor.organization_id),
        can_create=Steps(actor).may("task-add"),
        counts=counts,
        statuses=list(rules.WoStatus),
        types=list(rules.WoType),
        filters={"status": status, "type": type, "asset": asset, "q": q},
    )


async def _detail(
    request: Request, session, actor: Actor, number: str, status_code: int = 200, **extra
) -> HTMLResponse:
    # The database off the event loop, and no transaction held across the workflow's query;
    # the record is read after the query (the workflow writes it before changing its state).
    def found() -> str:
        wo_number = service.get(session, actor.organization_id, number).number
        session.rollback()
        return wo_number

    number = await asyncio.to_thread(found)
    live = await _live(request, number) or {}
    template = extra.pop("template", "web/work_order_detail.html")

    def page() -> HTMLResponse:
        wo = service.get(session, actor.organization_id, number)
        asset = session.get(Asset, wo.asset_id)
        users = {
            u.id: u
            for u in session.scalars(
                select(User).where(User.organization_id == actor.organization_id)
            ).all()
        }
        history = wo_history(session, wo.number)
        approvals = [
            {
                "name": name,
                "by": live.get("approvals", {}).get(name),
                "waiting": waiting_for(approvers(name, wo.type, bool(live.get("after_stop_work")))),
                "mine": name in mine,
            }
            for mine in [_approvals_for(actor, wo, live)]
            for name in live.get("approvals_needed", [])
        ]
        extra.setdefault("errors", {})
        extra.setdefault("form", {})
        extra.setdefault("failed", None)
        return render(
            request,
            template,
            status_code,
            actor=actor,
            wo=wo,
            asset=asset,
            live=live,
            steps=Steps(actor),
            version=live_version(live),
            zone=asset_zone(session, wo.asset_id),
            approvals=approvals,
            assignee=users.get(wo.assigned_to_id),
            technicians=[
                u
                for u in users.values()
                if {"MAINT_TECH", "FIELD_TECHNICIAN", "SENIOR_TECHNICIAN"} & set(u.roles)
            ],  # fmt: skip
            checklist=rules.VERIFICATION_CHECKLIST,
            evidence_kinds=list(rules.Evidence),
            required_evidence=sorted(
                rules.EVIDENCE.get(rules.WoType(wo.type), rules.DEFAULT_EVIDENCE)
            ),
            history=history,
            report_status=breakdown_service.status_of(
                session, actor.organization_id, wo.source_reference
            ),
            notice=request.query_params.get("notice"),
            warning=request.query_params.get("warning"),
            **extra,
        )

    return await asyncio.to_thread(page)


def _approvals_for(actor: Actor, wo: WorkOrder, live: dict) -> set[str]:
    """The return-to-service approvals still missing that this person may give."""
    given = live.get("approvals", {})
    return {
        name
        for name in live.get("approvals_needed", [])
        if name not in given
        and set(actor.roles) & approvers(name, wo.type, bool(live.get("after_stop_work")))
    }


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


Planner = Annotated[Actor, Depends(web_door(Action.CREATE_WO, Scope.FULL))]
NEW_FIELDS = ("asset", "type", "priority", "title", "description", "estimated_cost", "anomaly")


def _new_form(request, session, actor, status_code=200, **extra) -> HTMLResponse:
    assets = session.scalars(
        select(Asset).where(Asset.organization_id == actor.organization_id).order_by(
            Asset.asset_number)
    ).all()  # fmt: skip
    extra.setdefault("errors", {})
    return render(
        request, "web/work_order_new.html", status_code, actor=actor, assets=assets,
        types=list(rules.WoType), priorities=list(rules.WoPriority), **extra,
    )  # fmt: skip


@router.get("/work-orders/new", response_class=HTMLResponse)
def new_work_order_form(
    request: Request, session: DbSession, actor: Planner, asset: str = "", anomaly: str = ""
) -> HTMLResponse:
    """From scratch, from an asset (?asset=) or from an anomaly (?anomaly=)."""
    form = {"asset": asset.upper(), "type": "CORRECTIVE", "priority": "NORMAL"}
    if anomaly:
        from domain.services import anomalies as anomaly_service

        found = anomaly_service.get_anomaly(
            session=session, organization_id=actor.organization_id, reference=anomaly.upper()
        )
        form.update(
            anomaly=found.reference,
            asset=session.get(Asset, found.asset_id).asset_number,
            title=found.title[:200],
            description=found.description,
        )
    return _new_form(request, session, actor, form=form)


@router.post("/work-orders/new", response_class=HTMLResponse)
async def new_work_order(request: Request, session: DbSession, actor: Planner) -> Response:
    from api.routes.work_orders import create_work_order
    from domain.schemas.work_orders import WorkOrderCreate

    raw = await request.form()
    check_csrf(request, str(raw.get("csrf_token", "")))
    form = {k: str(raw.get(k, "")).strip() for k in NEW_FIELDS}
    form["requires_loto"] = "on" if raw.get("requires_loto") == "on" else ""
    try:
        data = WorkOrderCreate(
            asset=form["asset"],
            type=form["type"],
            priority=form["priority"] or "NORMAL",
            title=form["title"],
            description=form["description"],
            estimated_cost=form["estimated_cost"] or 0,
            requires_loto=True if form["requires_loto"] else None,
            source="ANOMALY" if form["anomaly"] else "SUPERVISOR_REQUEST",
            source_reference=form["anomaly"] or None,
        )
        out = await create_work_order(
            data, session, actor, request.app.state.temporal, request.app.state.settings
        )
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        code, errors, message = field_errors(err)
        return _new_form(request, session, actor, code, form=form, errors=errors, error=message)
    number = out["number"]
    return RedirectResponse(
        f"/work-orders/{number}?{urlencode({'notice': f'{number} created as a draft'})}", 303
    )


@router.get("/work-orders/{number}", response_class=HTMLResponse)
async def detail(number: str, request: Request, session: DbSession, actor: Viewer):
    return await _detail(request, session, actor, number)


def live_version(live: dict | None) -> str:
    """What a waiting page compares to know the work order moved on."""
    if not live:
        return ""
    given = ",".join(sorted(live.get("approvals", {})))
    return f"{live.get('status')}|{given}|{live.get('return_to_service')}"


@router.get("/work-orders/{number}/live")
async def live_state(number: str, request: Request, session: DbSession, actor: Viewer):
    """A small answer the waiting pages poll."""
    number = gateway.own(session, actor, WORK_ORDER, number)
    session.rollback()
    return {"version": live_version(await _live(request, number))}


@router.get("/work-orders/{number}/print", response_class=HTMLResponse)
async def print_view(number: str, request: Request, session: DbSession, actor: Viewer):
    """The work order (and its permits) on paper."""
    return await _detail(request, session, actor, number, template="web/work_order_print.html")


@router.get("/work-orders/{number}/permits/{permit}/print", response_class=HTMLResponse)
async def permit_print(
    number: str, permit: str, request: Request, session: DbSession, actor: Viewer
):
    """One permit on paper: the LOTO sheet kept at the isolation point, with a tag per lock."""
    wo = service.get(session, actor.organization_id, number)
    found = next((p for p in wo.permits if p.number == permit.upper()), None)
    if found is None:
        raise ApiError(404, "NotFound", f"permit {permit} not found on {wo.number}")
    return await _detail(
        request, session, actor, number, template="web/permit_print.html", permit=found
    )


@router.get("/work-orders/{number}/return-to-service", response_class=HTMLResponse)
async def rts_screen(number: str, request: Request, session: DbSession, actor: Viewer):
    return await _detail(request, session, actor, number, template="web/return_to_service.html")


def _checks(form: dict[str, str]) -> dict[str, bool]:
    return {item: form.get(f"check_{i}") == "on" for i, item in enumerate(CHECKLIST)}


CHECKLIST = rules.VERIFICATION_CHECKLIST
TEST_RUN_PASSED = "Test run passed"  # one box of the checklist, also the test run's verdict


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
    rts = form.get("back", "") == "rts"
    template = "web/return_to_service.html" if rts else "web/work_order_detail.html"
    try:
        if action in SIMPLE:
            req = MoveRequest(actor, form.get("reason", ""))
            state = await gateway.update(client, WORK_ORDER, number, SIMPLE[action], req)
        elif action == "schedule":
            wo = service.get(session, actor.organization_id, number)
            zone = asset_zone(session, wo.asset_id)
            user = wo_actions.user_for(session, actor, form.get("assignee") or None)
            from activities.anomalies import Person

            who = Person(user.id, user.username, user.full_name) if user else None
            date = form.get("scheduled_date")
            try:  # typed in the site's own time
                when = from_local_input(date, zone) if date else None
            except ValueError:
                raise ApiError(
                    422, "RuleViolation", "enter a date and time", "scheduled_date"
                ) from None
            session.rollback()
            from workflows.work_order_types import ScheduleRequest

            req = ScheduleRequest(actor, who, when, form.get("shift") or None)
            state = await gateway.update(
                client, WORK_ORDER, number, WorkOrderWorkflow.schedule, req
            )
        elif action == "verify":
            checks = _checks(form)
            failed = [item for item, ok in checks.items() if not ok]
            reason = form.get("reason", "").strip()
            if failed and form.get("confirm") != "failed":
                # C.5: a failed verification sends the work back (and under LOTO asks for a
                # new permit): nothing happens before the person confirms it, with a reason.
                return await _detail(
                    request, session, actor, number, 200, template=template,
                    confirm_failed=failed, form=form,
                )  # fmt: skip
            if failed and len(reason) < 3:
                return await _detail(
                    request, session, actor, number, 422, template=template,
                    confirm_failed=failed, form=form,
                    errors={"reason": "say why the verification failed"},
                    error="reason: say why the verification failed",
                )  # fmt: skip
            notes = form.get("notes", "").strip()
            if failed:
                notes = f"{reason}. {notes}".strip() if notes else reason
            req = VerifyRequest(actor, checks, checks[TEST_RUN_PASSED], notes)
            state = await gateway.update(client, WORK_ORDER, number, WorkOrderWorkflow.verify, req)
        elif action == "first-article":
            req = FirstArticleRequest(actor, form.get("passed") == "yes", form.get("notes", ""))
            state = await gateway.update(
                client, WORK_ORDER, number, WorkOrderWorkflow.first_article, req
            )
        else:
            raise ApiError(404, "NotFound", f"no action {action}")
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        code, errors, message = field_errors(err)
        return await _detail(
            request, session, actor, number, code, error=message, errors=errors,
            template=template, form=form, failed=action,
        )  # fmt: skip
    target = f"/work-orders/{number}/return-to-service" if rts else f"/work-orders/{number}"
    if action == "verify" and state.status != "VERIFIED":
        # The work went back: say so as a warning, with what to do next.
        return RedirectResponse(f"{target}?{urlencode({'warning': state.message})}", 303)
    if action == "return-to-service" and state.return_to_service == "BLOCKED":
        warning = f"Approval recorded. Still needed before closing: {state.message}"
        return RedirectResponse(f"{target}?{urlencode({'warning': warning})}", 303)
    note = _done_note(action, state)
    return RedirectResponse(f"{target}?{urlencode({'notice': note})}", 303)


def _done_note(action: str, state) -> str:
    if action == "verify":
        return "Verification recorded: checklist complete, test run passed"
    if action == "return-to-service":
        return state.message or "Approval recorded"
    return f"{action.replace('-', ' ').capitalize()} recorded"


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
        elif kind == "task-add":
            task = TaskIn(
                description=text.get("description", ""),
                requires_measurement=text.get("requires_measurement") == "on",
                unit=text.get("unit") or None,
                spec_min=text.get("spec_min") or None,
                spec_max=text.get("spec_max") or None,
            )
            await wo_content.add_task(client, session, actor, number, task)
        elif kind == "task-edit":
            seq = int(text.get("task", "0"))
            edit = TaskEditIn(
                description=text.get("description", ""),
                required=text.get("required") == "on",
                requires_measurement=text.get("requires_measurement") == "on",
                unit=text.get("unit") or None,
                spec_min=text.get("spec_min") or None,
                spec_max=text.get("spec_max") or None,
                requires_photo=text.get("requires_photo") == "on",
                sequence=text.get("sequence") or None,
            )
            await wo_content.edit_task(client, session, actor, number, seq, edit)
        elif kind == "task-remove":
            seq = int(text.get("task", "0"))
            await wo_content.remove_task(client, session, actor, number, seq)
        elif kind == "details":
            changes = WorkOrderUpdate(
                title=text.get("title") or None,
                description=text.get("description"),
                estimated_cost=text.get("estimated_cost") or None,
            ).model_dump(exclude_none=True)
            number = wo_actions.own(session, actor, number)
            await wo_content.update_details(client, actor, number, changes)
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
    except (ApiError, DomainError, ValidationError) as err:
        session.rollback()
        code, errors, message = field_errors(err)
        return await _detail(
            request, session, actor, number, code, error=message, errors=errors,
            form=text, failed=kind,
        )  # fmt: skip
    except ValueError as err:  # a number that is not one
        session.rollback()
        return await _detail(
            request, session, actor, number, 422, error=f"enter a number ({err})",
            form=text, failed=kind,
        )  # fmt: skip
    saved = {
        "task-add": "Task added",
        "task-edit": "Task saved",
        "task-remove": "Task removed",
        "details": "Changes saved",
    }.get(kind, f"{kind.replace('-', ' ').capitalize()} saved")
    anchor = ANCHORS.get(kind, "")
    return RedirectResponse(f"/work-orders/{number}?{urlencode({'notice': saved})}#{anchor}", 303)


ANCHORS = {
    "task-add": "tasks", "task-complete": "tasks", "task-edit": "tasks", "task-remove": "tasks",
    "details": "edit", "labor": "evidence",
    "file": "evidence", "permit": "permits", "permit-remove": "permits",
}  # fmt: skip


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
    return _report_form(request, session, actor, form={"asset": asset.upper()}, errors={})


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
        code, errors, message = field_errors(err)
        return _report_form(
            request, session, actor, code, form=values, error=message, errors=errors
        )
    return RedirectResponse(
        f"/work-orders/{result['work_order']}?notice=Reported:+{result['work_order']}+opened", 303
    )


@router.get("/assets/{ref}/qr.svg")
def qr_label(ref: str, request: Request, session: DbSession, actor: AssetViewer) -> Response:
    asset = asset_service.get_asset(session=session, actor=actor, ref=ref)
    base = request.app.state.settings.public_url or str(request.base_url).rstrip("/")
    import segno  # only for a label: not loaded with every API process

    buffer = io.BytesIO()
    segno.make(f"{base}/report?asset={asset.asset_number}", error="m").save(
        buffer, kind="svg", scale=5, border=2, title=asset.asset_number
    )
    return Response(buffer.getvalue(), media_type="image/svg+xml")
