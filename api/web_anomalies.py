"""Anomaly pages: report (phone first), queue, detail with the actions the viewer may
take, live board, knowledge base, outbox. Refusals re-show the form with the rule."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from starlette.datastructures import UploadFile as StarletteUpload

from api import anomaly_actions as actions
from api import gateway
from api.deps import DbSession
from api.errors import ApiError, error_body
from api.gateway import ANOMALY
from api.params import RowId
from api.permissions import door_of, doors_by, enforce, public, web_door
from api.web import LoginRequired, WebActor, check_csrf, csrf_token, render, web_actor
from api.web_errors import field_errors
from api.web_roles import anomaly_waiting
from api.web_words import from_local_input, home_zone, local_input
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import Asset, Notification, Rex, Site
from domain.rules import anomaly_lifecycle as rules
from domain.rules.anomaly_lifecycle import AttachmentKind
from domain.rules.roles import Action
from domain.schemas.anomalies import (
    AcceptIn,
    AnomalyReport,
    CriticalityOverride,
    DeclineIn,
    ProgressIn,
    ReassignIn,
    ResolveIn,
    ReviewIn,
    RexIn,
    RexReviewIn,
)
from domain.schemas.fields import Line
from domain.services import anomalies as service
from domain.services import kpis as kpi_service
from domain.services import people
from domain.settings import PROJECT_ROOT
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_types import (
    AcceptRequest,
    AcknowledgeRequest,
    DeclineRequest,
    OverrideCriticalityRequest,
    ProgressRequest,
    ReassignRequest,
    ResolveRequest,
    ReviewRequest,
    SubmitRexRequest,
)

router = APIRouter(include_in_schema=False)
OPEN = ["REGISTERED", "ASSIGNED", "ESCALATED", "IN_PROGRESS", "RESOLVED", "REX", "REX_REVIEW"]


def _assets(session, actor: Actor) -> list[Asset]:
    return list(
        session.scalars(
            select(Asset)
            .where(Asset.organization_id == actor.organization_id)
            .order_by(Asset.asset_number)
        ).all()
    )


Viewer = Annotated[Actor, Depends(web_door(Action.VIEW_DASHBOARD))]
Reporter = Annotated[Actor, Depends(web_door(Action.REPORT_ANOMALY))]
ReportViewer = Annotated[Actor, Depends(web_door(Action.VIEW_REPORTS))]
OutboxViewer = Annotated[Actor, Depends(web_door(Action.VIEW_OUTBOX))]
# Each action of the anomaly page, by its name in the form's URL.
ACTION_DOORS = {
    name: door_of(Action.WORK_ANOMALY)
    for name in (
        "acknowledge", "accept", "decline", "reassign", "progress", "resolve", "review",
        "rex", "rex-review", "criticality",
    )
}  # fmt: skip


def _zones_by_code(session, actor: Actor) -> dict[str, str]:
    rows = session.execute(
        select(Site.code, Site.timezone).where(Site.organization_id == actor.organization_id)
    ).all()
    return dict(rows)


@router.get("/anomalies", response_class=HTMLResponse)
def board(request: Request, session: DbSession, actor: Viewer) -> HTMLResponse:
    rows, _ = service.list_anomalies(
        session=session,
        actor=actor,
        filters=service.AnomalyFilters(status=",".join(OPEN)),
        limit=200,
        offset=0,
    )
    rank = {"G1": 0, "G2": 1, "G3": 2, "G4": 3, None: 4}
    rows.sort(key=lambda a: (rank.get(a.criticality, 4), a.registered_at))
    counts: dict[str, int] = {}
    for a in rows:
        counts[a.criticality or "—"] = counts.get(a.criticality or "—", 0) + 1
    return render(
        request,
        "web/anomaly_board.html",
        actor=actor,
        rows=[service.to_out(session, a) for a in rows],
        counts=counts,
        now=datetime.now(UTC),
        zones=_zones_by_code(session, actor),
    )


@router.get("/anomalies/new", response_class=HTMLResponse)
def new_form(
    request: Request, session: DbSession, actor: Reporter, asset: str = ""
) -> HTMLResponse:
    return render(
        request,
        "web/anomaly_new.html",
        actor=actor,
        assets=_assets(session, actor),
        form={"asset": asset.upper(), "safety_impact": "NONE", "urgency": "SOON"},
        errors={},
    )


REPORT_FIELDS = (
    "asset",
    "title",
    "description",
    "location",
    "safety_impact",
    "urgency",
    "production_loss_per_hour",
    "latitude",
    "longitude",
)


async def _register(request: Request, session, actor: Actor, form) -> str:
    """Registers the report a form carries and starts its lifecycle: its reference.
    Bad input raises (ValidationError, ApiError, DomainError)."""
    values = _values(form)
    photos = [f for f in form.getlist("photos") if isinstance(f, StarletteUpload) and f.filename]
    report = AnomalyReport(
        asset=values["asset"],
        title=values["title"],
        description=values["description"],
        location=values["location"] or None,
        channel="MOBILE",
        safety_impact=values["safety_impact"] or "NONE",
        urgency=values["urgency"] or "SOON",
        production_loss_per_hour=values["production_loss_per_hour"] or None,
        latitude=values["latitude"] or None,
        longitude=values["longitude"] or None,
        regulatory_impact=values["regulatory_impact"],
        photos=[
            {
                "filename": p.filename,
                "content_type": p.content_type or "",
                "data_base64": base64.b64encode(await p.read()).decode(),
            }
            for p in photos
        ],
    )
    return await actions.register_and_start(
        client=request.app.state.temporal,
        settings=request.app.state.settings,
        session=session,
        actor=actor,
        report=report,
    )


def _values(form) -> dict[str, Any]:
    values: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in REPORT_FIELDS}
    values["regulatory_impact"] = form.get("regulatory_impact") == "on"
    return values


@router.post("/anomalies/new", response_class=HTMLResponse)
async def new_submit(request: Request, session: DbSession, actor: Reporter) -> Response:
    form = await request.form()
    check_csrf(request, str(form.get("csrf_token", "")))
    try:
        ref = await _register(request, session, actor, form)
    except (ValidationError, ApiError, DomainError) as err:
        session.rollback()
        code, errors, error = field_errors(err)
    else:
        return RedirectResponse(f"/anomalies/{ref}?notice=Reported+as+{ref}", 303)
    return render(
        request,
        "web/anomaly_new.html",
        code,
        actor=actor,
        assets=_assets(session, actor),
        form=_values(form),
        error=error,
        errors=errors,
    )


# Reports kept on the phone while it was offline are sent here by the page's script (or
# its service worker): JSON answers, 401 rather than the sign-in page when the session
# has ended, the CSRF token in a header so that a resend after signing in again is the
# same request for its Idempotency-Key (the `idempotency_key` field), registered once.
CSRF_HEADER = "X-CSRF-Token"
SERVICE_WORKER = PROJECT_ROOT / "static" / "js" / "report_sw.js"


def queued_reporter(request: Request, session: DbSession) -> Actor:
    try:
        actor = web_actor(request, session)
    except LoginRequired:
        raise ApiError(401, "Unauthorized", "sign in to send", None) from None
    return enforce(actor, door_of(Action.REPORT_ANOMALY))


queued_reporter.door = door_of(Action.REPORT_ANOMALY)  # type: ignore[attr-defined]


@router.get("/anomalies/new/ready", dependencies=[Depends(public)])
def send_ready(request: Request, session: DbSession) -> dict:
    """Whether the phone's waiting reports can go now, with the token to send them."""
    try:
        actor = web_actor(request, session)
    except LoginRequired:
        return {"signed_in": False}
    # The phone sends a report only for the person who made it (it is registered in the
    # name of whoever is signed in).
    return {"signed_in": True, "user": actor.username, "csrf": csrf_token(request)}


@router.post("/anomalies/new/send", status_code=201)
async def send_queued(
    request: Request, session: DbSession, actor: Annotated[Actor, Depends(queued_reporter)]
) -> JSONResponse:
    check_csrf(request, request.headers.get(CSRF_HEADER, ""))
    form = await request.form()
    try:
        ref = await _register(request, session, actor, form)
    except (ValidationError, ApiError, DomainError) as err:
        session.rollback()
        code, errors, error = field_errors(err)
        field = next(iter(errors), None)
        message = errors[field] if field else error
        body = error_body("ValidationError" if code == 422 else "Refused", message, field)
        body["error"]["fields"] = errors
        return JSONResponse(body, code)
    return JSONResponse({"reference": ref, "url": f"/anomalies/{ref}"}, 201)


@router.get("/sw.js", dependencies=[Depends(public)])
def service_worker() -> Response:
    """At the site root so that it may keep the report page for offline use."""
    return Response(
        SERVICE_WORKER.read_bytes(),
        media_type="text/javascript",
        headers={"Service-Worker-Allowed": "/", "Cache-Control": "no-cache"},
    )


def _detail(
    request: Request, session, actor: Actor, ref: str, live: dict | None, status_code=200, **extra
) -> HTMLResponse:
    anomaly = service.get_anomaly(
        session=session, organization_id=actor.organization_id, reference=ref
    )
    out = service.to_out(session, anomaly, live)
    technicians = people.with_role(session, actor.organization_id, rules.TECHNICIANS)
    status = out.status.value
    assignee = live.get("assignee") if live else None
    is_assignee = bool(assignee and assignee.get("user_id") == actor.user_id)
    supervisor = rules.has_any(actor.roles, rules.SUPERVISORS)
    can = {
        "acknowledge": supervisor
        and bool(live and live.get("flashing"))
        and not (live or {}).get("alert_acknowledged"),
        "accept": is_assignee and status == "ASSIGNED",
        "reassign": supervisor and status in ("ASSIGNED", "ESCALATED", "IN_PROGRESS"),
        "work": status == "IN_PROGRESS" and (is_assignee or supervisor),
        "resolve": status == "IN_PROGRESS" and is_assignee,
        "review": status == "RESOLVED" and supervisor and not is_assignee,
        "rex": status == "REX" and is_assignee,
        "rex_review": status == "REX_REVIEW"
        and rules.has_any(actor.roles, rules.REX_REVIEWERS)
        and not is_assignee,
        "criticality": supervisor and status != "CLOSED",
    }
    zone = session.get(Site, anomaly.site_id).timezone
    # The ETA is typed in the site's own time, the zone named beside the field.
    eta_default = local_input(datetime.now(UTC) + timedelta(minutes=30), zone)
    rex = session.scalars(select(Rex).where(Rex.anomaly_id == anomaly.id)).first()
    extra.setdefault("errors", {})
    extra.setdefault("form", {})
    extra.setdefault("failed", None)
    acting = any(can.values())
    return render(
        request,
        "web/anomaly_detail.html",
        status_code,
        actor=actor,
        a=out,
        live=live or {},
        can=can,
        timeline=service.timeline(
            session=session, organization_id=actor.organization_id, reference=ref
        ),
        technicians=technicians,
        kinds=list(AttachmentKind),
        eta_default=eta_default,
        zone=zone,
        rex=rex,
        waiting=None if acting and status not in ("REGISTERED",) else anomaly_waiting(status),
        version=live_version(live),
        notice=request.query_params.get("notice"),
        **extra,
    )


def live_version(live: dict | None) -> str:
    """What the waiting anomaly page compares to know it moved on."""
    if not live:
        return ""
    who = (live.get("assignee") or {}).get("user_id")
    return f"{live.get('status')}|{live.get('criticality')}|{who}|{live.get('rex_version')}"


@router.get("/anomalies/{ref}/live")
async def live_state(ref: str, request: Request, session: DbSession, actor: Viewer):
    """A small answer the anomaly page polls while it waits on the system."""
    ref = gateway.own(session, actor, ANOMALY, ref)
    session.rollback()
    live = await gateway.live(request.app.state.temporal, ref, AnomalyWorkflow.get_state)
    return {"version": live_version(live)}


@router.get("/anomalies/{ref}", response_class=HTMLResponse)
async def detail(ref: str, request: Request, session: DbSession, actor: Viewer) -> HTMLResponse:
    ref = gateway.own(
        session, actor, ANOMALY, ref
    )  # no query reaches another organisation's workflow
    live = await gateway.live(request.app.state.temporal, ref, AnomalyWorkflow.get_state)
    return _detail(request, session, actor, ref, live)


@router.get("/anomalies/{ref}/files/{attachment_id}")
def file(ref: str, attachment_id: RowId, session: DbSession, actor: Viewer) -> Response:
    from api.routes.anomalies import download

    return download(ref, attachment_id, session, actor)


def _eta(value: str, zone: str) -> datetime:
    """A datetime-local value from the phone, read in the anomaly's site time."""
    try:
        return from_local_input(value, zone)
    except ValueError:
        raise ApiError(422, "RuleViolation", "enter a date and time", "eta") from None


def _zone_of(session, actor: Actor, ref: str) -> str:
    anomaly = service.get_anomaly(
        session=session, organization_id=actor.organization_id, reference=ref
    )
    return session.get(Site, anomaly.site_id).timezone


async def _request_for(action: str, form: dict[str, Any], session, actor: Actor, ref: str):
    """(workflow update, its request) for a form post; validation errors propagate."""
    if action == "acknowledge":
        return AnomalyWorkflow.acknowledge_alert, AcknowledgeRequest(actor)
    if action == "accept":
        zone = _zone_of(session, actor, ref)
        data = AcceptIn(
            eta=_eta(form.get("eta") or "", zone) if form.get("eta") else None,
            safety_acknowledged=form.get("safety_acknowledged") == "on",
        )
        return AnomalyWorkflow.accept, AcceptRequest(actor, data.eta, data.safety_acknowledged)
    if action == "decline":
        data = DeclineIn(reason=form.get("reason", ""))
        return AnomalyWorkflow.decline, DeclineRequest(actor, data.reason)
    if action == "reassign":
        data = ReassignIn(assignee=form.get("assignee") or None, reason=form.get("reason", ""))
        who = actions.person(session, actor, data.assignee) if data.assignee else None
        return AnomalyWorkflow.reassign, ReassignRequest(actor, data.reason, who)
    if action == "progress":
        parts = []
        if form.get("part_number"):
            parts.append(
                {
                    "part_number": form["part_number"],
                    "quantity": form.get("quantity") or 1,
                    "serial_numbers": [
                        s.strip() for s in form.get("serial_numbers", "").split(",") if s.strip()
                    ],
                }
            )
        tests = []
        if form.get("test_name"):
            tests.append(
                {
                    "name": form["test_name"],
                    "value": form.get("test_value", ""),
                    "passed": form.get("test_passed") == "on",
                }
            )
        data = ProgressIn(
            note=form.get("note", ""),
            loto_acknowledged=form.get("loto_acknowledged") == "on",
            parts_used=parts,
            test_results=tests,
        )
        return AnomalyWorkflow.progress, ProgressRequest(
            actor,
            data.note,
            data.loto_acknowledged,
            [p.model_dump() for p in data.parts_used],
            [t.model_dump() for t in data.test_results],
        )
    if action == "resolve":
        data = ResolveIn(
            root_cause=form.get("root_cause", ""),
            corrective_action=form.get("corrective_action", ""),
            verification_test=form.get("verification_test", ""),
            safety_restored=form.get("safety_restored") == "on",
        )
        return AnomalyWorkflow.resolve, ResolveRequest(
            actor,
            data.root_cause,
            data.corrective_action,
            data.verification_test,
            data.safety_restored,
        )
    if action == "review":
        data = ReviewIn(decision=form.get("decision", ""), feedback=form.get("feedback", ""))
        return AnomalyWorkflow.review, ReviewRequest(
            actor, data.decision.value == "APPROVE", data.feedback
        )
    if action == "rex":
        data = RexIn(**{k: form.get(k, "") for k in RexIn.model_fields})
        return AnomalyWorkflow.submit_rex, SubmitRexRequest(actor, **data.model_dump())
    if action == "rex-review":
        data = RexReviewIn(decision=form.get("decision", ""), feedback=form.get("feedback", ""))
        return AnomalyWorkflow.review_rex, ReviewRequest(
            actor, data.decision.value == "APPROVE", data.feedback
        )
    if action == "criticality":
        data = CriticalityOverride(level=form.get("level", ""), reason=form.get("reason", ""))
        return AnomalyWorkflow.override_criticality, OverrideCriticalityRequest(
            actor, data.level.value, data.reason
        )
    raise ApiError(404, "NotFound", f"no action {action}")


@router.post("/anomalies/{ref}/attachments", response_class=HTMLResponse)
async def attachment_form(
    ref: str,
    request: Request,
    session: DbSession,
    actor: Reporter,
    file: UploadFile,
    kind: Annotated[str, Form()] = "",
    caption: Annotated[Line, Form()] = "",
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
) -> Response:
    from api.routes.anomalies import store_attachment

    check_csrf(request, csrf)
    ref = gateway.own(session, actor, ANOMALY, ref)
    client = request.app.state.temporal
    try:
        if kind not in AttachmentKind.__members__:
            raise ApiError(422, "RuleViolation", "kind: choose what the file shows", "kind")
        await store_attachment(session, actor, client, ref, file, AttachmentKind(kind), caption)
    except (ApiError, DomainError) as err:
        session.rollback()
        live = await gateway.live(client, ref.upper(), AnomalyWorkflow.get_state)
        code = err.status if isinstance(err, ApiError) else 422
        return _detail(request, session, actor, ref, live, code, error=err.message, failed="work")
    return RedirectResponse(f"/anomalies/{ref}?notice={kind}+added", 303)


@router.post("/anomalies/{ref}/{action}", response_class=HTMLResponse)
@doors_by("action", ACTION_DOORS)
async def act(ref: str, action: str, request: Request, session: DbSession, actor: WebActor):
    if action not in ACTION_DOORS:
        raise ApiError(404, "NotFound", f"no action {action}")
    enforce(actor, ACTION_DOORS[action])
    ref = gateway.own(session, actor, ANOMALY, ref)
    raw = await request.form()
    form = {k: str(v) for k, v in raw.items() if isinstance(v, str)}
    check_csrf(request, form.get("csrf_token", ""))
    client = request.app.state.temporal
    errors: dict[str, str] = {}
    try:
        method, req = await _request_for(action, form, session, actor, ref)
        session.rollback()
        await gateway.update(client, ANOMALY, ref, method, req)
    except (ValidationError, ApiError, DomainError) as err:
        session.rollback()
        code, errors, error = field_errors(err)
    else:
        label = action.replace("-", " ")
        return RedirectResponse(f"/anomalies/{ref}?notice={label}+recorded", 303)
    live = await gateway.live(client, ref.upper(), AnomalyWorkflow.get_state)
    return _detail(
        request, session, actor, ref, live, code, error=error, errors=errors, failed=action,
        form=form,
    )  # fmt: skip


@router.get("/knowledge", response_class=HTMLResponse)
def knowledge(request: Request, session: DbSession, actor: Viewer, q: str = "") -> HTMLResponse:
    found = service.search_knowledge(
        session=session, organization_id=actor.organization_id, text=q[:200]
    )
    return render(request, "web/knowledge.html", actor=actor, q=q, found=found)


@router.get("/outbox", response_class=HTMLResponse)
def outbox_page(
    request: Request, session: DbSession, actor: OutboxViewer, status: str = ""
) -> HTMLResponse:
    query = select(Notification).where(Notification.organization_id == actor.organization_id)
    if status:
        query = query.where(Notification.status == status.upper())
    rows = session.scalars(query.order_by(Notification.id.desc()).limit(300)).all()
    zone = home_zone(session, actor.user_id)
    return render(
        request, "web/outbox.html", actor=actor, rows=rows, status=status.upper(), zone=zone
    )


@router.get("/kpis", response_class=HTMLResponse)
def kpi_page(request: Request, session: DbSession, actor: ReportViewer) -> HTMLResponse:
    answer = kpi_service.answer(session, actor.organization_id, request.app.state.settings)
    return render(request, "web/kpis.html", actor=actor, **answer)
