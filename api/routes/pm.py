"""PM schedule and template endpoints of seed 003 J.1, and the meter readings that drive
meter-based schedules. A schedule's changes go to its workflow (PMS-<id>) as updates; the
answer is the state the workflow returns."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from sqlalchemy.orm import Session

from api import gateway, meter_readings, pm_lifecycles
from api.deps import DbSession, TemporalClient, require
from api.errors import ApiError
from api.jsonable import jsonable
from api.params import Offset
from domain.actor import Actor
from domain.models import PmSchedule
from domain.rules.roles import Action, Scope
from domain.schemas.assets import MeterReadingIn
from domain.schemas.pm import (
    DeferIn,
    MeterReadingPm,
    Reason,
    ScheduleEdit,
    ScheduleIn,
    TemplateIn,
    TemplateOut,
)
from domain.services import pm_schedules as service
from domain.services import pm_templates as templates
from workflows.pm_schedule import PMScheduleWorkflow
from workflows.pm_schedule_types import (
    DeferRequest,
    EditRequest,
    PauseRequest,
    SkipRequest,
)

router = APIRouter(prefix="/api/v1/maintenance", tags=["preventive maintenance"])

Viewer = Annotated[Actor, Depends(require(Action.VIEW_ASSETS, Scope.FULL))]
Planner = Annotated[Actor, Depends(require(Action.MANAGE_PM_SCHEDULES))]
TemplateEditor = Annotated[Actor, Depends(require(Action.MANAGE_PM_TEMPLATES))]
Supervisor = Annotated[Actor, Depends(require(Action.DEFER_PM))]
MeterRecorder = Annotated[Actor, Depends(require(Action.RECORD_METER))]
Limit = Annotated[int, Query(ge=1, le=500)]


def _page(session: Session, rows: list[PmSchedule], total: int, limit: int, offset: int) -> dict:
    now = datetime.now(UTC)
    items = [service.to_out(session, r, now) for r in rows]
    return jsonable({"items": items, "total": total, "limit": limit, "offset": offset})


def _own(session: Session, actor: Actor, ref: str) -> str:
    """The schedule's workflow id if it is the caller's organisation's (else 404)."""
    row = service.get_schedule(session=session, organization_id=actor.organization_id, ref=ref)
    session.rollback()  # no transaction stays open across the Temporal call
    return service.reference(row.id)


async def _act(session, client, actor, ref: str, method: Any, request: Any) -> dict[str, Any]:
    ref = await asyncio.to_thread(_own, session, actor, ref)  # the event loop serves others
    state = await gateway.update(client, gateway.PM_SCHEDULE, ref, method, request)
    return jsonable(state)


# -- schedules --


def _listed(
    session: Session, actor: Actor, which: str, limit: int, offset: int, **filters: Any
) -> dict:
    rows, total = service.list_schedules(
        session=session,
        organization_id=actor.organization_id,
        which=which,
        limit=limit,
        offset=offset,
        **filters,
    )
    return _page(session, rows, total, limit, offset)


@router.get("/pm-schedules", summary="List PM schedules")
def list_schedules(
    session: DbSession,
    actor: Viewer,
    site: str | None = None,
    asset: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    return _listed(session, actor, "all", limit, offset, site=site, asset=asset)


@router.get("/pm-schedules/due", summary="PMs due: work order open or inside the lead time")
def due_schedules(
    session: DbSession,
    actor: Viewer,
    site: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    return _listed(session, actor, "due", limit, offset, site=site)


@router.get("/pm-schedules/overdue", summary="PMs past their due date or due meter")
def overdue_schedules(
    session: DbSession,
    actor: Viewer,
    site: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    return _listed(session, actor, "overdue", limit, offset, site=site)


@router.post("/pm-schedules", status_code=status.HTTP_201_CREATED, summary="Create a schedule")
async def create_schedule(
    data: ScheduleIn, request: Request, session: DbSession, actor: Planner, client: TemporalClient
) -> dict:
    def save() -> tuple[PmSchedule, dict]:
        row = service.create_schedule(session=session, actor=actor, data=data)
        session.commit()
        out = jsonable(service.to_out(session, row))
        session.commit()  # ends the read without expiring the row the start reads
        return row, out

    # The database part in a thread: a slow write holds up no other request.
    row, out = await asyncio.to_thread(save)
    await pm_lifecycles.start_schedule(client, request.app.state.settings.task_queue, row)
    return out


@router.get("/pm-schedules/{ref}", summary="Schedule details (by id or code), with its live state")
async def get_schedule(ref: str, session: DbSession, actor: Viewer, client: TemporalClient) -> dict:
    def read() -> tuple[PmSchedule, dict]:
        row = service.get_schedule(session=session, organization_id=actor.organization_id, ref=ref)
        out = jsonable(service.to_out(session, row))
        session.commit()  # ends the read without expiring the row
        return row, out

    row, out = await asyncio.to_thread(read)  # off the event loop, as above
    out["live"] = await gateway.live(
        client, service.reference(row.id), PMScheduleWorkflow.get_state
    )
    return out


@router.put("/pm-schedules/{ref}", summary="Edit a schedule; the running schedule takes it")
async def edit_schedule(
    ref: str, data: ScheduleEdit, session: DbSession, actor: Planner, client: TemporalClient
) -> dict:
    changes = data.model_dump(exclude_unset=True, exclude={"reason", "template_version"})
    if "next_due_date" in changes and changes["next_due_date"] is not None:
        changes["next_due_date"] = changes["next_due_date"].isoformat()
    changes = {k: (v.value if hasattr(v, "value") else v) for k, v in changes.items()}
    if data.template_version:

        def current() -> int:
            org = actor.organization_id
            row = service.get_schedule(session=session, organization_id=org, ref=ref)
            return templates.get_template(
                session=session, organization_id=org, ref=row.template_code
            ).id

        changes["template_id"] = await asyncio.to_thread(current)
    if not changes:
        raise ApiError(422, "RuleViolation", "nothing to change", "body")
    request = EditRequest(actor, changes, data.reason)
    return await _act(session, client, actor, ref, PMScheduleWorkflow.edit, request)


@router.post("/pm-schedules/{ref}/pause", summary="Pause a schedule (a reason is required)")
async def pause_schedule(
    ref: str, data: Reason, session: DbSession, actor: Planner, client: TemporalClient
) -> dict:
    request = PauseRequest(actor, data.reason)
    return await _act(session, client, actor, ref, PMScheduleWorkflow.pause, request)


@router.post("/pm-schedules/{ref}/resume", summary="Resume a paused schedule")
async def resume_schedule(
    ref: str, session: DbSession, actor: Planner, client: TemporalClient, data: Reason | None = None
) -> dict:
    request = PauseRequest(actor, data.reason if data else "")
    return await _act(session, client, actor, ref, PMScheduleWorkflow.resume, request)


@router.post("/pm-schedules/{ref}/skip", summary="Skip the due PM (supervisor, with a reason)")
async def skip_schedule(
    ref: str, data: Reason, session: DbSession, actor: Supervisor, client: TemporalClient
) -> dict:
    request = SkipRequest(actor, data.reason)
    return await _act(session, client, actor, ref, PMScheduleWorkflow.skip, request)


@router.post("/pm-schedules/{ref}/defer", summary="Defer the due PM (supervisor, with a reason)")
async def defer_schedule(
    ref: str, data: DeferIn, session: DbSession, actor: Supervisor, client: TemporalClient
) -> dict:
    request = DeferRequest(actor, data.reason, data.until)
    return await _act(session, client, actor, ref, PMScheduleWorkflow.defer, request)


@router.post(
    "/pm-meter-readings",
    status_code=status.HTTP_201_CREATED,
    summary="Record a meter reading and wake the asset's meter-based PM schedules",
)
async def record_meter_reading(
    data: MeterReadingPm, session: DbSession, actor: MeterRecorder, client: TemporalClient
) -> dict:
    reading, told = await meter_readings.record_and_tell(
        session=session,
        client=client,
        actor=actor,
        ref=data.asset,
        data=MeterReadingIn(
            meter_type=data.meter_type, reading=data.reading, recorded_at=data.recorded_at
        ),
    )
    out = {
        "asset": data.asset.upper(),
        "meter_type": data.meter_type.value,
        "reading": data.reading,
        "recorded_at": reading.recorded_at,
    }
    return jsonable(out | {"schedules": told})


# -- templates --


@router.get("/pm-templates", summary="List PM templates (current versions)")
def list_templates(
    session: DbSession,
    actor: Viewer,
    asset_type: str | None = None,
    all_versions: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    rows, total = templates.list_templates(
        session=session,
        organization_id=actor.organization_id,
        asset_type=asset_type,
        all_versions=all_versions,
        limit=limit,
        offset=offset,
    )
    items = [templates.to_out(session, r) for r in rows]
    return jsonable({"items": items, "total": total, "limit": limit, "offset": offset})


@router.post(
    "/pm-templates",
    status_code=status.HTTP_201_CREATED,
    response_model=TemplateOut,
    summary="Create a PM template",
)
def create_template(data: TemplateIn, session: DbSession, actor: TemplateEditor) -> TemplateOut:
    row = templates.create_template(session=session, actor=actor, data=data)
    session.commit()
    return templates.to_out(session, row)


@router.get("/pm-templates/{ref}", response_model=TemplateOut, summary="A template (id or code)")
def get_template(ref: str, session: DbSession, actor: Viewer) -> TemplateOut:
    row = templates.get_template(session=session, organization_id=actor.organization_id, ref=ref)
    return templates.to_out(session, row)


@router.put(
    "/pm-templates/{ref}",
    response_model=TemplateOut,
    summary="Change a template: a new version; work orders keep the one they were made from",
)
def revise_template(
    ref: str, data: TemplateIn, session: DbSession, actor: TemplateEditor
) -> TemplateOut:
    row = templates.revise_template(session=session, actor=actor, ref=ref, data=data)
    session.commit()
    return templates.to_out(session, row)
