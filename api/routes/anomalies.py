"""The anomaly API: registration, reading, and each human action of the lifecycle."""

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status
from sqlalchemy import select

from api import anomaly_actions as actions
from api import answer_cache, gateway
from api import work_order_actions as wo_actions
from api.answers import json_answer, json_text_answer
from api.deps import AppSettings, DbSession, TemporalClient, own, read_pool, require
from api.errors import ApiError
from api.files import file_response
from api.gateway import ANOMALY
from api.jsonable import jsonable
from api.params import Offset, RowId
from api.state_out import AnomalyAttachmentOut, KnowledgeOut, WorkOrderRef
from domain.actor import Actor
from domain.models import AnomalyAttachment
from domain.rules.anomaly_lifecycle import AttachmentKind
from domain.rules.roles import Action, Scope
from domain.schemas.anomalies import (
    AcceptIn,
    AnomalyOut,
    AnomalyReport,
    CriticalityOverride,
    DeclineIn,
    ProgressIn,
    ReassignIn,
    ResolveIn,
    ReviewDecision,
    ReviewIn,
    RexDecision,
    RexIn,
    RexReviewIn,
    TimelineEntry,
)
from domain.schemas.assets import Page
from domain.schemas.fields import Line
from domain.schemas.kpis import KpiAnswer
from domain.services import anomalies as service
from domain.services import kpis as kpi_service
from domain.services import read_views, work_order_sources
from workflows.anomaly import AnomalyWorkflow
from workflows.anomaly_types import (
    AcceptRequest,
    AcknowledgeRequest,
    AnomalyState,
    AttachRequest,
    DeclineRequest,
    OverrideCriticalityRequest,
    ProgressRequest,
    ReassignRequest,
    ResolveRequest,
    ReviewRequest,
    SubmitRexRequest,
)

router = APIRouter(prefix="/api/v1/anomalies", tags=["anomalies"])
Viewer = Annotated[Actor, Depends(require(Action.VIEW_DASHBOARD))]
Reporter = Annotated[Actor, Depends(require(Action.REPORT_ANOMALY))]
Worker = Annotated[Actor, Depends(require(Action.WORK_ANOMALY))]
Planner = Annotated[Actor, Depends(require(Action.CREATE_WO, Scope.FULL))]
Limit = Annotated[int, Query(ge=1, le=500)]


def _state(state: Any) -> dict[str, Any]:
    return jsonable(state)


@router.post(
    "",
    response_model=AnomalyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register an anomaly (any intake channel)",
)
async def register(
    report: AnomalyReport,
    session: DbSession,
    actor: Reporter,
    client: TemporalClient,
    settings: AppSettings,
) -> AnomalyOut:
    ref = await actions.register_and_start(
        client=client, settings=settings, session=session, actor=actor, report=report
    )

    def answer() -> AnomalyOut:
        org = actor.organization_id
        anomaly = service.get_anomaly(session=session, organization_id=org, reference=ref)
        return service.to_out(session, anomaly)

    return await asyncio.to_thread(answer)  # the event loop serves other requests meanwhile


@router.get("", response_model=Page[AnomalyOut], summary="List anomalies")
async def list_anomalies(
    request: Request,
    actor: Viewer,
    anomaly_status: Annotated[str | None, Query(alias="status", max_length=200)] = None,
    criticality: Annotated[str | None, Query(pattern="^[Gg][1-4]$")] = None,
    asset: str | None = None,
    site: str | None = None,
    assignee: str | None = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Response:
    filters = service.AnomalyFilters(anomaly_status, criticality, asset, site, assignee, q)

    async def read() -> Response:
        page = await read_pool(request).run(
            lambda conn: read_views.anomaly_page_of(
                conn,
                organization_id=actor.organization_id,
                filters=filters,
                limit=limit,
                offset=offset,
            )
        )
        return json_text_answer(Page[AnomalyOut], page)

    return await answer_cache.answer(request, actor.user_id, read)


@router.get(
    "/kpis",
    response_model=KpiAnswer,
    summary="The anomaly KPIs and the REX due, per site and for the enterprise",
)
def kpis(
    session: DbSession,
    actor: Annotated[Actor, Depends(require(Action.VIEW_REPORTS))],
    settings: AppSettings,
) -> KpiAnswer:
    return KpiAnswer.model_validate(kpi_service.answer(session, actor.organization_id, settings))


@router.get(
    "/knowledge",
    response_model=KnowledgeOut,
    summary="Search the knowledge base of approved REX",
)
def knowledge(
    session: DbSession,
    actor: Viewer,
    q: Annotated[str, Query(max_length=200)] = "",
    limit: Limit = 20,
) -> dict[str, Any]:
    found = service.search_knowledge(
        session=session, organization_id=actor.organization_id, text=q, limit=limit
    )
    return {
        "items": [
            {
                "reference": ref,
                "title": rex.title,
                "asset_type": rex.asset_type_code,
                "root_cause_analysis": rex.root_cause_analysis,
                "lessons_learned": rex.lessons_learned,
                "preventive_actions": rex.preventive_actions,
                "best_practices": rex.best_practices,
                "training_needs": rex.training_needs,
                "author": rex.author_name,
                "reviewer": rex.reviewer_name,
                "version": rex.version,
                "approved_at": rex.approved_at,
            }
            for rex, ref in found
        ]
    }


@router.get("/{ref}", response_model=AnomalyOut, summary="An anomaly with its live state")
async def get_anomaly(
    ref: str, request: Request, actor: Viewer, client: TemporalClient
) -> Response:
    reference = await own(request, actor, ANOMALY, ref)
    # The workflow writes the record before it changes its state, so reading the record
    # after the query never shows it behind the live state.
    live = await actions.live(client, reference)
    out = await read_pool(request).run(
        lambda conn: read_views.anomaly_view_of(
            conn, organization_id=actor.organization_id, reference=reference
        )
    )
    if out is None:  # deleted in between
        raise ApiError(404, "NotFound", f"anomaly {ref} not found", "reference")
    out["live"] = live
    return json_answer(AnomalyOut, out)


@router.get(
    "/{ref}/timeline", response_model=list[TimelineEntry], summary="Every decision, in order"
)
def timeline(ref: str, session: DbSession, actor: Viewer) -> list[TimelineEntry]:
    service.get_anomaly(session=session, organization_id=actor.organization_id, reference=ref)
    return service.timeline(session=session, organization_id=actor.organization_id, reference=ref)


@router.get("/{ref}/attachments/{attachment_id}", summary="Download an attachment")
def download(ref: str, attachment_id: RowId, session: DbSession, actor: Viewer) -> Response:
    anomaly = service.get_anomaly(
        session=session, organization_id=actor.organization_id, reference=ref
    )
    row = session.scalars(
        select(AnomalyAttachment).where(
            AnomalyAttachment.id == attachment_id, AnomalyAttachment.anomaly_id == anomaly.id
        )
    ).one_or_none()
    if row is None:
        raise ApiError(404, "NotFound", f"attachment {attachment_id} not found", "attachment_id")
    return file_response(row.content, row.filename, row.content_type)


@router.post(
    "/{ref}/work-order",
    response_model=WorkOrderRef,
    status_code=status.HTTP_201_CREATED,
    summary="Open a work order from an anomaly in progress",
)
async def open_work_order(
    ref: str,
    session: DbSession,
    actor: Planner,
    client: TemporalClient,
    settings: AppSettings,
) -> dict[str, Any]:

    def opened():
        wo = work_order_sources.from_anomaly(session=session, actor=actor, reference=ref)
        session.commit()
        return wo, {"number": wo.number, "status": wo.status,
                    "source_reference": wo.source_reference}  # fmt: skip

    wo, out = await asyncio.to_thread(opened)  # off the event loop
    await wo_actions.start(client, settings.task_queue, session, wo)
    return out


@router.post(
    "/{ref}/acknowledge-alert", response_model=AnomalyState, summary="Acknowledge an H1 alert"
)
async def acknowledge(
    ref: str, session: DbSession, actor: Worker, client: TemporalClient
) -> dict[str, Any]:
    state = await gateway.act(
        session, client, actor, ANOMALY, ref, AnomalyWorkflow.acknowledge_alert,
        AcknowledgeRequest(actor), plain=True)  # fmt: skip
    return _state(state)


@router.post(
    "/{ref}/accept",
    response_model=AnomalyState,
    summary="Accept the assignment with ETA and safety acknowledgement",
)
async def accept(
    ref: str, data: AcceptIn, http: Request, actor: Worker, client: TemporalClient
) -> dict[str, Any]:
    req = AcceptRequest(actor, data.eta, data.safety_acknowledged)
    return _state(
        await gateway.act(
            http, client, actor, ANOMALY, ref, AnomalyWorkflow.accept, req, plain=True
        )
    )


@router.post(
    "/{ref}/decline",
    response_model=AnomalyState,
    summary="Decline the assignment; it escalates",
)
async def decline(
    ref: str, data: DeclineIn, http: Request, actor: Worker, client: TemporalClient
) -> dict[str, Any]:
    req = DeclineRequest(actor, data.reason)
    return _state(
        await gateway.act(
            http, client, actor, ANOMALY, ref, AnomalyWorkflow.decline, req, plain=True
        )
    )


@router.post(
    "/{ref}/reassign",
    response_model=AnomalyState,
    summary="Reassign to a technician, or take it yourself",
)
async def reassign(
    ref: str, data: ReassignIn, session: DbSession, actor: Worker, client: TemporalClient
) -> dict[str, Any]:

    def person():
        who = actions.person(session, actor, data.assignee) if data.assignee else None
        session.rollback()
        return who

    who = await asyncio.to_thread(person)  # off the event loop
    req = ReassignRequest(actor, data.reason, who)
    return _state(
        await gateway.act(
            session, client, actor, ANOMALY, ref, AnomalyWorkflow.reassign, req, plain=True
        )
    )


@router.post(
    "/{ref}/progress",
    response_model=AnomalyState,
    summary="Progress note, LOTO, parts used, test results",
)
async def progress(
    ref: str, data: ProgressIn, http: Request, actor: Worker, client: TemporalClient
) -> dict[str, Any]:
    req = ProgressRequest(
        actor,
        data.note,
        data.loto_acknowledged,
        [p.model_dump() for p in data.parts_used],
        [t.model_dump() for t in data.test_results],
    )
    return _state(
        await gateway.act(
            http, client, actor, ANOMALY, ref, AnomalyWorkflow.progress, req, plain=True
        )
    )


@router.post(
    "/{ref}/attachments",
    response_model=AnomalyAttachmentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a photo, video, test result or document",
)
async def attach(
    ref: str,
    session: DbSession,
    actor: Reporter,
    client: TemporalClient,
    file: Annotated[UploadFile, File()],
    kind: Annotated[AttachmentKind, Form()],
    caption: Annotated[Line | None, Form()] = None,
) -> dict[str, Any]:
    return await store_attachment(session, actor, client, ref, file, kind, caption)


async def store_attachment(session, actor, client, ref, file, kind, caption) -> dict[str, Any]:
    """Stored first so the workflow can refer to it; removed again if the workflow
    refuses it (wrong state or wrong person), so nothing unaccounted for stays. The
    database parts run off the event loop."""
    content = await file.read()

    def stored() -> tuple[int, str]:
        anomaly = service.get_anomaly(
            session=session, organization_id=actor.organization_id, reference=ref
        )
        row = service.add_attachment(
            session=session,
            actor=actor,
            anomaly=anomaly,
            kind=kind,
            filename=file.filename or "upload",
            content_type=file.content_type or "application/octet-stream",
            content=content,
            caption=caption,
        )
        session.commit()
        return row.id, row.filename

    def removed(row_id: int) -> None:
        row = session.get(AnomalyAttachment, row_id)
        if row is not None:
            session.delete(row)
        session.commit()

    row_id, filename = await asyncio.to_thread(stored)
    notice = AttachRequest(actor, row_id, kind.value, filename)
    try:
        state = await gateway.act(
            session, client, actor, ANOMALY, ref, AnomalyWorkflow.attachment, notice, plain=True
        )
    except ApiError:
        await asyncio.to_thread(removed, row_id)
        raise
    return {"attachment_id": row_id, "state": _state(state)}


@router.post(
    "/{ref}/resolve",
    response_model=AnomalyState,
    summary="Mark resolved; refused while anything is missing",
)
async def resolve(
    ref: str, data: ResolveIn, http: Request, actor: Worker, client: TemporalClient
) -> dict[str, Any]:
    req = ResolveRequest(
        actor,
        data.root_cause,
        data.corrective_action,
        data.verification_test,
        data.safety_restored,
    )
    return _state(
        await gateway.act(
            http, client, actor, ANOMALY, ref, AnomalyWorkflow.resolve, req, plain=True
        )
    )


@router.post(
    "/{ref}/review",
    response_model=AnomalyState,
    summary="Supervisor review: approve, or reject with feedback",
)
async def review(
    ref: str, data: ReviewIn, http: Request, actor: Worker, client: TemporalClient
) -> dict[str, Any]:
    req = ReviewRequest(actor, data.decision is ReviewDecision.APPROVE, data.feedback)
    return _state(
        await gateway.act(
            http, client, actor, ANOMALY, ref, AnomalyWorkflow.review, req, plain=True
        )
    )


@router.post("/{ref}/rex", response_model=AnomalyState, summary="Submit the REX")
async def rex(
    ref: str, data: RexIn, http: Request, actor: Worker, client: TemporalClient
) -> dict[str, Any]:
    req = SubmitRexRequest(actor, **data.model_dump())
    return _state(
        await gateway.act(
            http, client, actor, ANOMALY, ref, AnomalyWorkflow.submit_rex, req, plain=True
        )
    )


@router.post(
    "/{ref}/rex/review",
    response_model=AnomalyState,
    summary="Senior technician's peer review of the REX",
)
async def rex_review(
    ref: str, data: RexReviewIn, http: Request, actor: Worker, client: TemporalClient
) -> dict[str, Any]:
    req = ReviewRequest(actor, data.decision is RexDecision.APPROVE, data.feedback)
    return _state(
        await gateway.act(
            http, client, actor, ANOMALY, ref, AnomalyWorkflow.review_rex, req, plain=True
        )
    )


@router.post(
    "/{ref}/criticality",
    response_model=AnomalyState,
    summary="Override the criticality, with a reason",
)
async def criticality(
    ref: str, data: CriticalityOverride, session: DbSession, actor: Worker, client: TemporalClient
) -> dict[str, Any]:
    req = OverrideCriticalityRequest(actor, data.level.value, data.reason)
    return _state(
        await gateway.act(
            session,
            client,
            actor,
            ANOMALY,
            ref,
            AnomalyWorkflow.override_criticality,
            req,
            plain=True,
        )
    )
