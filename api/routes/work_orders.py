"""Work-order, parts, downtime, operator-report, stop-work, dispatch and event endpoints
of seed 003 J.1 and J.2, behind the permission matrix of I.2."""

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from sqlalchemy import func, select

from api import answer_cache, gateway
from api import work_order_actions as wo_actions
from api import work_order_content as content
from api.answers import json_answer
from api.deps import AppSettings, DbSession, TemporalClient, own, read_pool, require
from api.errors import ApiError
from api.gateway import WORK_ORDER
from api.jsonable import jsonable
from api.params import After, Offset, RowId
from api.state_out import EvidenceAddedOut, LaborLoggedOut, PermitIssuedOut, TaskCompletedOut
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import (
    Asset,
    AuditLog,
    DowntimeRecord,
    WorkOrder,
)
from domain.rules import work_orders as rules
from domain.rules.roles import Action, Scope
from domain.rules.work_order_doors import WO_DOORS
from domain.schemas.fields import Line
from domain.schemas.work_order_out import (
    DispatchOut,
    DowntimeAnalytics,
    DowntimeList,
    DowntimeOut,
    EventPage,
    HistoryEntry,
    OperatorReportOut,
    PartIssued,
    PartList,
    PartOut,
    StopWorkClearedOut,
    StopWorkOut,
    WorkOrderOut,
    WorkOrderPage,
)
from domain.schemas.work_orders import (
    DowntimeEndIn,
    DowntimeStart,
    FirstArticleIn,
    LaborIn,
    OperatorReportIn,
    PartCreate,
    PartIssueIn,
    PartReceiveIn,
    PartRequestIn,
    PartUpdate,
    PermitIn,
    ReasonIn,
    ScheduleIn,
    SpcViolationIn,
    StopWorkClearIn,
    StopWorkIn,
    TaskCompleteIn,
    TaskEditIn,
    TaskIn,
    VerifyIn,
    WorkOrderCreate,
    WorkOrderUpdate,
)
from domain.services import assets as asset_service
from domain.services import dispatch as dispatch_service
from domain.services import downtime as downtime_service
from domain.services import events as events_service
from domain.services import parts as parts_service
from domain.services import read_views
from domain.services import work_orders as service
from workflows.work_order import WorkOrderWorkflow
from workflows.work_order_types import (
    FirstArticleRequest,
    MoveRequest,
    ScheduleRequest,
    VerifyRequest,
    WorkOrderState,
)

router = APIRouter(prefix="/api/v1/maintenance", tags=["work orders"])
Creator = Annotated[Actor, Depends(require(Action.CREATE_WO))]
# Create WO in full: operators hold it as report-only and go through their report.
Planner = Annotated[Actor, Depends(require(Action.CREATE_WO, Scope.FULL))]
Executor = Annotated[Actor, Depends(require(Action.EXECUTE_WO))]
PartsUser = Annotated[Actor, Depends(require(Action.MANAGE_PARTS))]
Storekeeper = Annotated[Actor, Depends(require(Action.MANAGE_PARTS, Scope.FULL))]
Viewer = Annotated[Actor, Depends(require(Action.VIEW_DASHBOARD))]
Verifier = Annotated[Actor, Depends(require(Action.CLOSE_WO))]
Inspector = Annotated[Actor, Depends(require(Action.ADD_EVIDENCE))]
PermitHolder = Annotated[Actor, Depends(require(Action.ISSUE_PERMITS))]
StopWorker = Annotated[Actor, Depends(require(Action.STOP_WORK))]
SafetyOfficer = Annotated[Actor, Depends(require(Action.CLEAR_STOP_WORK))]
Limit = Annotated[int, Query(ge=1, le=500)]


def _out(session, wo: WorkOrder, live: dict | None = None) -> dict[str, Any]:
    asset = wo.asset  # loaded with the row by service.SHOWN where it matters
    return {
        "number": wo.number,
        "type": wo.type,
        "priority": wo.priority,
        "source": wo.source,
        "source_reference": wo.source_reference,
        "status": wo.status,
        "asset": asset.asset_number,
        "asset_status": asset.status.value,
        "title": wo.title,
        "description": wo.description,
        "assigned_to_id": wo.assigned_to_id,
        "scheduled_date": wo.scheduled_date,
        "estimated_hours": wo.estimated_hours,
        "estimated_cost": wo.estimated_cost,
        "requires_loto": wo.requires_loto,
        "requires_hot_work": wo.requires_hot_work,
        "requires_confined_space": wo.requires_confined_space,
        "requires_first_article": wo.requires_first_article,
        "first_article_passed": wo.first_article_passed,
        "after_stop_work": wo.after_stop_work,
        "started_at": wo.started_at,
        "completed_at": wo.completed_at,
        "verified_at": wo.verified_at,
        "verification": wo.verification,
        "test_run_passed": wo.test_run_passed,
        "approvals": wo.approvals,
        "labor_cost": wo.labor_cost,
        "parts_cost": wo.parts_cost,
        "total_cost": round(wo.labor_cost + wo.parts_cost, 2),
        "closed_at": wo.closed_at,
        "cancel_reason": wo.cancel_reason,
        "tasks": [
            {
                "sequence": t.sequence,
                "description": t.description,
                "required": t.is_required,
                "requires_measurement": t.requires_measurement,
                "unit": t.measurement_unit,
                "spec_min": t.spec_min,
                "spec_max": t.spec_max,
                "requires_photo": t.requires_photo,
                "measurement_value": t.measurement_value,
                "measurement_passed": t.measurement_passed,
                "completed": t.completed,
                "completed_by": t.completed_by,
            }
            for t in wo.tasks
        ],
        "labor": [
            {"technician": e.technician_name, "hours": e.hours, "type": e.labor_type,
             "cost": e.total_cost}
            for e in wo.labor
        ],
        "parts": [
            {"part_id": p.part_id, "required": p.quantity_required, "used": p.quantity_used,
             "serial_numbers": p.serial_numbers, "issued_by": p.issued_by}
            for p in wo.parts
        ],
        "permits": [
            {"number": p.number, "kind": p.kind, "status": p.status, "issued_by": p.issued_by,
             "energy_sources": p.energy_sources, "isolation_verified": p.isolation_verified,
             "removed_by": p.removed_by}
            for p in wo.permits
        ],
        "attachments": [
            {"id": a.id, "kind": a.kind, "filename": a.filename, "source": a.source,
             "uploaded_by": a.uploaded_by}
            for a in wo.attachments
        ],
        "live": live,
    }  # fmt: skip


async def _live(client, number: str) -> dict | None:
    return await gateway.live(client, number, WorkOrderWorkflow.get_state)


# -- work orders --


@router.get("/work-orders", response_model=WorkOrderPage, summary="List work orders")
async def list_work_orders(
    request: Request,
    actor: Viewer,
    wo_status: Annotated[str | None, Query(alias="status", max_length=200)] = None,
    type: rules.WoType | None = None,
    asset: str | None = None,
    assignee: str | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    org = actor.organization_id

    async def page(conn) -> dict[str, Any]:
        assignee_id = None
        if assignee:  # as wo_actions.user_for
            assignee_id = await read_views.user_id_of(conn, organization_id=org, username=assignee)
            if assignee_id is None:
                raise DomainError(f"user {assignee} not found", field="assignee")
        return await read_views.work_order_page_of(
            conn,
            organization_id=org,
            statuses=wo_status,
            type=type.value if type else None,
            asset=asset,
            assignee_id=assignee_id,
            limit=limit,
            offset=offset,
        )

    async def read() -> Response:
        return json_answer(WorkOrderPage, await read_pool(request).run(page))

    return await answer_cache.answer(request, actor.user_id, read)


@router.post(
    "/work-orders",
    response_model=WorkOrderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a work order",
)
async def create_work_order(
    data: WorkOrderCreate,
    session: DbSession,
    actor: Planner,
    client: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    def created() -> WorkOrder:
        asset = asset_service.asset_for_write(session=session, actor=actor, ref=data.asset)
        if data.source is rules.WoSource.ANOMALY:
            # The anomaly it comes from is one of the caller's own, so it links nothing across.
            from domain.services import anomalies as anomaly_service

            if not data.source_reference:
                raise ApiError(
                    422,
                    "RuleViolation",
                    "source_reference: the anomaly's reference",
                    "source_reference",
                )
            anomaly_service.get_anomaly(
                session=session,
                organization_id=actor.organization_id,
                reference=data.source_reference,
            )
        wo = service.create(
            session=session,
            actor=actor,
            asset=asset,
            type=data.type,
            priority=data.priority,
            source=data.source,
            title=data.title,
            description=data.description,
            source_reference=data.source_reference,
            estimated_hours=data.estimated_hours,
            estimated_cost=data.estimated_cost,
            requires_loto=data.requires_loto,
            requires_hot_work=data.requires_hot_work,
            requires_confined_space=data.requires_confined_space,
            requires_first_article=data.requires_first_article,
            tasks=[service.NewTask(**t.model_dump()) for t in data.tasks],
        )
        session.commit()
        return wo

    # The database parts off the event loop: it serves other requests meanwhile.
    wo = await asyncio.to_thread(created)
    await wo_actions.start(client, settings.task_queue, session, wo)
    return await asyncio.to_thread(_out, session, wo)


@router.get(
    "/work-orders/{number}", response_model=WorkOrderOut, summary="A work order with its live state"
)
async def get_work_order(
    number: str, request: Request, actor: Viewer, client: TemporalClient
) -> Response:
    number = await own(request, actor, WORK_ORDER, number)
    # Read after the query: the workflow writes the record before it changes its state.
    live = await _live(client, number)
    out = await read_pool(request).run(
        lambda conn: read_views.work_order_view_of(
            conn, organization_id=actor.organization_id, number=number
        )
    )
    if out is None:  # deleted in between
        raise ApiError(404, "NotFound", f"work order {number} not found", "number")
    out["live"] = live
    return json_answer(WorkOrderOut, out)


@router.put(
    "/work-orders/{number}",
    response_model=WorkOrderState,
    summary="Update a work order before approval",
)
async def update_work_order(
    number: str, data: WorkOrderUpdate, session: DbSession, actor: Planner, client: TemporalClient
) -> dict[str, Any]:
    changes = {k: getattr(v, "value", v) for k, v in data.model_dump(exclude_none=True).items()}
    if not changes:
        raise ApiError(422, "RuleViolation", "nothing to change", "body")
    # Off the event loop; no transaction left open.
    number = await asyncio.to_thread(wo_actions.own, session, actor, number)
    # The workflow writes it: only it may lock the work order's row.
    return jsonable(await content.update_details(client, actor, number, changes))


@router.get(
    "/work-orders/{number}/history",
    response_model=list[HistoryEntry],
    summary="Every change, with who and why",
)
def work_order_history(number: str, session: DbSession, actor: Viewer) -> list[dict[str, Any]]:
    service.get(session, actor.organization_id, number)
    rows = session.scalars(
        select(AuditLog)
        .where(
            AuditLog.organization_id == actor.organization_id,
            AuditLog.entity_type == service.ENTITY,
            AuditLog.entity_id == number.upper(),
        )
        .order_by(AuditLog.id)
    ).all()
    return [
        {"at": r.occurred_at, "action": r.action, "by": r.user_name, "role": r.user_role,
         "before": r.previous_state, "after": r.new_state, "reason": r.reason}
        for r in rows
    ]  # fmt: skip


def _transition(name: str, method, permission: tuple[Action, ...], body_type=ReasonIn):
    """One POST endpoint per transition; the workflow's validator decides."""

    async def endpoint(
        number: str,
        http: Request,
        actor: Annotated[Actor, Depends(require(*permission))],
        client: TemporalClient,
        data: body_type | None = None,  # type: ignore[valid-type]  # the reason is optional
    ) -> dict[str, Any]:
        reason = data.reason if data else ""
        request = MoveRequest(actor, reason)
        state = await gateway.act(
            http, client, actor, WORK_ORDER, number, method, request, plain=True
        )
        return jsonable(state)

    endpoint.__name__ = f"work_order_{name.replace('-', '_')}"
    router.add_api_route(
        f"/work-orders/{{number}}/{name}",
        endpoint,
        methods=["POST"],
        response_model=WorkOrderState,
        summary=f"{name.replace('-', ' ').capitalize()} a work order",
    )


for _name, _method in wo_actions.TRANSITIONS.items():
    _transition(_name, _method, permission=WO_DOORS[_name])


@router.post(
    "/work-orders/{number}/schedule",
    response_model=WorkOrderState,
    summary="Schedule: date, shift, technician",
)
async def schedule(
    number: str, data: ScheduleIn, session: DbSession, actor: Planner, client: TemporalClient
) -> dict[str, Any]:
    from activities.anomalies import Person

    def checked() -> tuple[str, Person | None]:
        owned = gateway.own(session, actor, WORK_ORDER, number)
        user = wo_actions.user_for(session, actor, data.assignee)
        who = Person(user.id, user.username, user.full_name) if user else None
        session.rollback()
        return owned, who

    number, who = await asyncio.to_thread(checked)  # off the event loop
    req = ScheduleRequest(actor, who, data.scheduled_date, data.shift)
    method = WorkOrderWorkflow.schedule
    return jsonable(await gateway.update(client, WORK_ORDER, number, method, req))


@router.post(
    "/work-orders/{number}/verify",
    response_model=WorkOrderState,
    summary="Verification checklist and test run",
)
async def verify(
    number: str, data: VerifyIn, http: Request, actor: Verifier, client: TemporalClient
) -> dict[str, Any]:
    req = VerifyRequest(actor, data.checklist, data.test_run_passed, data.notes)
    method = WorkOrderWorkflow.verify
    return jsonable(
        await gateway.act(http, client, actor, WORK_ORDER, number, method, req, plain=True)
    )


@router.post(
    "/work-orders/{number}/first-article",
    response_model=WorkOrderState,
    summary="QUALITY's first-article result",
)
async def first_article(
    number: str, data: FirstArticleIn, http: Request, actor: Inspector, client: TemporalClient
) -> dict[str, Any]:
    req = FirstArticleRequest(actor, data.passed, data.notes)
    method = WorkOrderWorkflow.first_article
    return jsonable(
        await gateway.act(http, client, actor, WORK_ORDER, number, method, req, plain=True)
    )


@router.post(
    "/work-orders/{number}/tasks",
    response_model=WorkOrderState,
    status_code=201,
    summary="Add a task",
)
async def add_task(
    number: str, data: TaskIn, session: DbSession, actor: Planner, client: TemporalClient
) -> dict[str, Any]:
    done = await content.add_task(client, session, actor, number, data)
    return jsonable(done.work_order)


@router.put(
    "/work-orders/{number}/tasks/{sequence}",
    response_model=WorkOrderState,
    summary="Edit a task before approval (the task as it is to be)",
)
async def edit_task(
    number: str,
    sequence: RowId,
    data: TaskEditIn,
    session: DbSession,
    actor: Planner,
    client: TemporalClient,
) -> dict[str, Any]:
    done = await content.edit_task(client, session, actor, number, sequence, data)
    return jsonable(done.work_order)


@router.delete(
    "/work-orders/{number}/tasks/{sequence}",
    response_model=WorkOrderState,
    summary="Remove a task before approval",
)
async def remove_task(
    number: str,
    sequence: RowId,
    session: DbSession,
    actor: Planner,
    client: TemporalClient,
    reason: Annotated[str, Query(max_length=500)] = "",
) -> dict[str, Any]:
    done = await content.remove_task(client, session, actor, number, sequence, reason)
    return jsonable(done.work_order)


@router.post(
    "/work-orders/{number}/tasks/{sequence}/complete",
    response_model=TaskCompletedOut,
    summary="Complete a task",
)
async def complete_task(
    number: str,
    sequence: RowId,
    data: TaskCompleteIn,
    session: DbSession,
    actor: Executor,
    client: TemporalClient,
) -> dict[str, Any]:
    done = await content.complete_task(
        client, session, actor, number, sequence, data.measurement_value, data.notes
    )
    return {**jsonable(done.work_order), "measurement_passed": done.result["measurement_passed"]}


@router.post(
    "/work-orders/{number}/labor",
    response_model=LaborLoggedOut,
    status_code=201,
    summary="Log labour",
)
async def log_labor(
    number: str, data: LaborIn, session: DbSession, actor: Executor, client: TemporalClient
) -> dict[str, Any]:
    done = await content.log_labor(client, session, actor, number, data)
    return {**jsonable(done.work_order), "cost": done.result["cost"]}


@router.post(
    "/work-orders/{number}/permits",
    response_model=PermitIssuedOut,
    status_code=201,
    summary="Issue a permit",
)
async def issue_permit(
    number: str, data: PermitIn, session: DbSession, actor: PermitHolder, client: TemporalClient
) -> dict[str, Any]:
    done = await content.issue_permit(client, session, actor, number, data)
    return {**jsonable(done.work_order), "permit": done.result["permit"]}


@router.post(
    "/work-orders/{number}/permits/{kind}/remove",
    response_model=WorkOrderState,
    summary="Remove LOTO or a permit",
)
async def remove_permit(
    number: str,
    kind: rules.PermitKind,
    session: DbSession,
    actor: PermitHolder,
    client: TemporalClient,
) -> dict[str, Any]:
    done = await content.remove_permit(client, session, actor, number, kind.value)
    return jsonable(done.work_order)


@router.post(
    "/work-orders/{number}/parts",
    response_model=WorkOrderState,
    status_code=201,
    summary="Request (and reserve) parts",
)
async def request_parts(
    number: str, data: PartRequestIn, session: DbSession, actor: Executor, client: TemporalClient
) -> dict[str, Any]:
    done = await content.request_parts(client, session, actor, number, data)
    return jsonable(done.work_order)


@router.post(
    "/work-orders/{number}/attachments",
    response_model=EvidenceAddedOut,
    status_code=201,
    summary="Add evidence",
)
async def attach(
    number: str,
    session: DbSession,
    actor: Inspector,
    client: TemporalClient,
    file: Annotated[UploadFile, File()],
    kind: Annotated[rules.Evidence, Form()],
    description: Annotated[Line | None, Form()] = None,
) -> dict[str, Any]:
    done = await content.attach_file(
        client, session, actor, number, kind, file.filename or "upload",
        file.content_type or "application/octet-stream", await file.read(), description,
    )  # fmt: skip
    return {**jsonable(done.work_order), "attachment_id": done.result["attachment_id"]}


# -- parts --


_part_out = parts_service.summary


@router.get("/parts", response_model=PartList, summary="List spare parts", tags=["parts"])
def list_parts(session: DbSession, actor: Viewer) -> dict[str, Any]:
    from domain.models import SparePart

    rows = session.scalars(
        select(SparePart)
        .where(SparePart.organization_id == actor.organization_id)
        .order_by(SparePart.part_number)
    ).all()
    return {"items": [_part_out(p) for p in rows]}


@router.get(
    "/parts/low-stock",
    response_model=PartList,
    summary="Parts at or below their reorder point",
    tags=["parts"],
)
def low_stock(session: DbSession, actor: Viewer) -> dict[str, Any]:
    return {
        "items": [_part_out(p) for p in parts_service.low_stock(session, actor.organization_id)]
    }


@router.get("/parts/{part_number}", response_model=PartOut, summary="A spare part", tags=["parts"])
def get_part(part_number: str, session: DbSession, actor: Viewer) -> dict[str, Any]:
    return _part_out(parts_service.get(session, actor.organization_id, part_number))


@router.post(
    "/parts",
    response_model=PartOut,
    status_code=201,
    summary="Add a part to the catalogue",
    tags=["parts"],
)
def create_part(data: PartCreate, session: DbSession, actor: Storekeeper) -> dict[str, Any]:
    part = parts_service.create(session, actor, **data.model_dump())
    session.commit()
    return _part_out(part)


@router.put("/parts/{part_number}", response_model=PartOut, summary="Update a part", tags=["parts"])
def update_part(
    part_number: str, data: PartUpdate, session: DbSession, actor: Storekeeper
) -> dict[str, Any]:
    part = parts_service.get(session, actor.organization_id, part_number, lock=True)
    changes = data.model_dump(exclude_none=True)
    from domain.services.audit import record_change

    before = {k: getattr(part, k) for k in changes}
    for key, value in changes.items():
        setattr(part, key, value)
    record_change(
        session=session, actor=actor, entity_type="SPARE_PART", entity_id=part.part_number,
        action="UPDATED", before=before, after=changes, reason="catalogue edited",
    )  # fmt: skip
    session.commit()
    return _part_out(part)


@router.post(
    "/parts/{part_number}/issue",
    response_model=PartIssued,
    summary="Issue a part to a work order",
    tags=["parts"],
)
async def issue_part(
    part_number: str,
    data: PartIssueIn,
    session: DbSession,
    actor: PartsUser,
    client: TemporalClient,
) -> dict[str, Any]:
    done = await content.issue_part(client, session, actor, part_number, data)
    result = done.result
    return {
        "part": result["part"],
        "used": result["used"],
        "alerts": result["alerts"],
        "work_order": jsonable(done.work_order),
    }


@router.post(
    "/parts/{part_number}/receive",
    response_model=PartOut,
    summary="Receive stock",
    tags=["parts"],
)
def receive_part(
    part_number: str, data: PartReceiveIn, session: DbSession, actor: Storekeeper
) -> dict[str, Any]:
    part = parts_service.get(session, actor.organization_id, part_number, lock=True)
    parts_service.receive(session, actor, part, data.quantity, data.notes)
    session.commit()
    return _part_out(part)


# -- downtime --


def _downtime_out(d: DowntimeRecord, session) -> dict[str, Any]:
    return {
        "id": d.id, "asset": session.get(Asset, d.asset_id).asset_number, "type": d.type,
        "reason_code": d.reason_code, "start_time": d.start_time, "end_time": d.end_time,
        "duration_minutes": d.duration_minutes,
        "duration_hours": round(d.duration_minutes / 60, 2) if d.duration_minutes is not None
        else None,
        "impacted_jobs": d.impacted_jobs, "work_order": d.work_order_number,
        "production_loss_value": d.production_loss_value,
    }  # fmt: skip


@router.get("/downtime", response_model=DowntimeList, summary="Downtime records", tags=["downtime"])
def list_downtime(session: DbSession, actor: Viewer, asset: str | None = None) -> dict[str, Any]:
    query = select(DowntimeRecord).where(DowntimeRecord.organization_id == actor.organization_id)
    if asset:
        a = asset_service.get_asset(session=session, actor=actor, ref=asset)
        query = query.where(DowntimeRecord.asset_id == a.id)
    rows = session.scalars(query.order_by(DowntimeRecord.start_time.desc()).limit(500)).all()
    return {"items": [_downtime_out(d, session) for d in rows]}


@router.post(
    "/downtime",
    response_model=DowntimeOut,
    status_code=201,
    summary="Start downtime",
    tags=["downtime"],
)
def start_downtime(data: DowntimeStart, session: DbSession, actor: Creator) -> dict[str, Any]:
    asset = asset_service.asset_for_write(session=session, actor=actor, ref=data.asset)
    record = downtime_service.start_downtime(
        session, asset, actor, data.type, data.reason_code,
        data.start_time or datetime.now(UTC), data.impacted_jobs, data.details,
    )  # fmt: skip
    record.planned = data.planned
    session.commit()
    return _downtime_out(record, session)


@router.put(
    "/downtime/{downtime_id}",
    response_model=DowntimeOut,
    summary="End downtime",
    tags=["downtime"],
)
def end_downtime(
    downtime_id: RowId, data: DowntimeEndIn, session: DbSession, actor: Creator
) -> dict[str, Any]:
    record = session.get(DowntimeRecord, downtime_id)
    if record is None or record.organization_id != actor.organization_id:
        raise ApiError(404, "NotFound", f"downtime {downtime_id} not found", "downtime_id")
    asset_service.asset_for_write(session=session, actor=actor, asset_id=record.asset_id)
    downtime_service.end_downtime(
        session, record, actor, data.end_time or datetime.now(UTC), data.reason_code
    )
    session.commit()
    return _downtime_out(record, session)


@router.get(
    "/downtime/analytics",
    response_model=DowntimeAnalytics,
    summary="Downtime by reason code",
    tags=["downtime"],
)
def downtime_analytics(session: DbSession, actor: Viewer) -> dict[str, Any]:
    rows = session.execute(
        select(
            DowntimeRecord.reason_code,
            func.count(),
            func.coalesce(func.sum(DowntimeRecord.duration_minutes), 0),
        )
        .where(DowntimeRecord.organization_id == actor.organization_id)
        .group_by(DowntimeRecord.reason_code)
        .order_by(func.sum(DowntimeRecord.duration_minutes).desc().nulls_last())
    ).all()
    return {
        "by_reason": [
            {"reason_code": code, "events": n, "hours": round(minutes / 60, 2)}
            for code, n, minutes in rows
        ]
    }


# -- operator reports, stop-work, dispatch, events --


@router.post(
    "/reports/operator",
    response_model=OperatorReportOut,
    status_code=201,
    summary="Operator equipment report",
    tags=["reports"],
)
async def operator_report(
    data: OperatorReportIn,
    request: Request,
    actor: Creator,
    client: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    from api.operator_reports import submit_report

    return await submit_report(request.app.state, actor, data, [])


@router.post(
    "/quality/spc-violations",
    response_model=WorkOrderOut,
    status_code=201,
    summary="An SPC violation opens a draft quality-related work order",
    tags=["quality"],
)
async def spc_violation(
    data: SpcViolationIn,
    session: DbSession,
    actor: Planner,
    client: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:
    # The database parts in threads: the event loop serves other requests meanwhile.
    asset = await asyncio.to_thread(
        asset_service.asset_for_write, session=session, actor=actor, ref=data.asset
    )
    what = f"SPC rule {data.rule} on {data.characteristic}"
    if data.pm_schedule:
        from api.pm_lifecycles import tell_condition

        number = await tell_condition(
            session=session, client=client, actor=actor, schedule=data.pm_schedule,
            asset=asset, source="SPC", detail=f"{what} ({data.violation_id})",
        )  # fmt: skip
        return await asyncio.to_thread(
            lambda: _out(session, service.get(session, actor.organization_id, number))
        )
    wo = await asyncio.to_thread(_draft_spc, session, actor, asset, data)
    await wo_actions.start(client, settings.task_queue, session, wo)
    return await asyncio.to_thread(_out, session, wo)


def _draft_spc(session, actor: Actor, asset, data: SpcViolationIn) -> WorkOrder:
    """The draft quality work order, its notices queued, committed."""
    from domain.services.breakdowns import notify_roles

    wo = service.create(
        session=session,
        actor=actor,
        asset=asset,
        type=rules.WoType.QUALITY_RELATED,
        priority=rules.WoPriority.HIGH,
        source=rules.WoSource.SPC_VIOLATION,
        source_reference=data.violation_id,
        title=f"SPC rule {data.rule} on {data.characteristic}",
        description=data.detail or f"SPC rule {data.rule} violation on {data.characteristic}",
    )
    notify_roles(
        session, actor, asset, wo, {"MAINT_SUPERVISOR", "MAINT_MANAGER", "QUALITY"},
        f"SPC rule {data.rule} on {data.characteristic}: {wo.number} drafted",
    )  # fmt: skip
    session.commit()
    return wo


@router.post(
    "/stop-work",
    response_model=StopWorkOut,
    status_code=201,
    summary="Stop-work authority on an asset",
)
async def stop_work(
    data: StopWorkIn, request: Request, actor: StopWorker, client: TemporalClient
) -> dict[str, Any]:
    from api.operator_reports import raise_stop_work

    return await raise_stop_work(request.app.state, actor, data.asset, data.reason)


@router.post(
    "/stop-work/{swa_id}/clear",
    response_model=StopWorkClearedOut,
    summary="EHS clears a stop-work order",
)
async def clear_stop_work(
    swa_id: RowId, data: StopWorkClearIn, request: Request, actor: SafetyOfficer
) -> dict[str, Any]:
    from api.operator_reports import clear_stop_work as clear

    return await clear(request.app.state, actor, swa_id, data.reason)


@router.get(
    "/assets/{ref}/dispatch",
    response_model=DispatchOut,
    summary="May the asset take work now?",
    tags=["assets"],
)
def dispatch(ref: str, session: DbSession, actor: Viewer) -> dict[str, Any]:
    asset = asset_service.get_asset(session=session, actor=actor, ref=ref)
    blocks = dispatch_service.dispatch_check(session, asset, date.today())
    return {
        "asset": asset.asset_number,
        "canDispatch": not blocks,
        "blocks": [{"type": b.type, "message": b.message, **b.detail} for b in blocks],
    }


@router.get(
    "/events",
    response_model=EventPage,
    summary="J.2 events in order; page with after=<last id>",
    tags=["events"],
)
def events(
    session: DbSession,
    actor: Viewer,
    after: After = 0,
    limit: Limit = 100,
    type: Annotated[list[str] | None, Query()] = None,
) -> dict[str, Any]:
    rows = events_service.events_after(session, actor.organization_id, after, limit, type)
    return {
        "items": [
            {"id": e.id, "type": e.type, "entity_type": e.entity_type, "entity_id": e.entity_id,
             "payload": e.payload, "occurred_at": e.occurred_at}
            for e in rows
        ],
        "next_after": rows[-1].id if rows else after,
    }  # fmt: skip
