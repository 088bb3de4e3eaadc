"""Work orders for the API and the pages: create and start the workflow, send transitions,
and store content (tasks, labour, permits, parts, files) in one step with the workflow's
consent: the database transaction commits only once the workflow has accepted it."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio.client import Client

from activities.work_orders import snapshot
from api import gateway
from api.errors import ApiError
from domain.actor import Actor
from domain.errors import DomainError
from domain.models import Asset, User, WorkOrder
from domain.services import work_orders as service
from workflows.work_order import WorkOrderWorkflow
from workflows.work_order_types import ContentNotice, WorkOrderInput, WorkOrderState

# Each simple move by its name in the URL, for the API's routes and the page's buttons alike.
TRANSITIONS = {
    "submit": WorkOrderWorkflow.submit,
    "approve": WorkOrderWorkflow.approve,
    "reject": WorkOrderWorkflow.reject,
    "start": WorkOrderWorkflow.start,
    "resume": WorkOrderWorkflow.start,
    "wait-parts": WorkOrderWorkflow.wait_parts,
    "hold": WorkOrderWorkflow.hold,
    "escalate": WorkOrderWorkflow.escalate,
    "complete": WorkOrderWorkflow.complete,
    "return-to-service": WorkOrderWorkflow.approve_return,
    "close": WorkOrderWorkflow.close,
    "cancel": WorkOrderWorkflow.cancel,
}


async def start(
    client: Client, task_queue: str, session: Session, wo: WorkOrder, indexed: bool = True
) -> None:
    """The work order's lifecycle, started with the record as stored."""
    await gateway.start(
        client,
        WorkOrderWorkflow.run,
        WorkOrderInput(wo.number, wo.organization_id, snapshot(session, wo), indexed),
        workflow_id=wo.number,
        task_queue=task_queue,
    )


def own(session: Session, actor: Actor, number: str) -> str:
    return gateway.own(session, actor, gateway.WORK_ORDER, number)


async def update(client: Client, number: str, method: Any, request: Any) -> WorkOrderState:
    return await gateway.update(client, gateway.WORK_ORDER, number, method, request)


async def live(client: Client, number: str) -> dict[str, Any] | None:
    return await gateway.live(client, number, WorkOrderWorkflow.get_state)


async def store_content(
    client: Client,
    sessions: sessionmaker[Session],
    actor: Actor,
    number: str,
    write: Callable[[Session, WorkOrder], tuple[str, dict[str, Any]]],
) -> tuple[WorkOrderState, Any]:
    """Run `write` in a transaction, announce what it stored, commit only if accepted.

    `write` returns the notice kind and detail; the detail's "result" entry (if any) is
    handed back to the caller after the commit."""
    with sessions() as session, session.begin():
        wo = service.get(session, actor.organization_id, number, lock=False)
        kind, detail = write(session, wo)
        session.flush()
        result = detail.pop("result", None)
        state = await update(
            client, wo.number, WorkOrderWorkflow.content, ContentNotice(actor, kind, detail)
        )
    return state, result


def user_for(session: Session, actor: Actor, username: str | None) -> User | None:
    if not username:
        return None
    user = session.scalars(
        select(User).where(User.organization_id == actor.organization_id, User.username == username)
    ).one_or_none()
    if user is None:
        raise DomainError(f"user {username} not found", field="assignee")
    return user


def now() -> datetime:
    return datetime.now(UTC)


PRIORITY_BY_LEVEL = {"G1": "EMERGENCY", "G2": "HIGH", "G3": "NORMAL", "G4": "LOW"}
EVIDENCE_BY_KIND = {
    "BEFORE_PHOTO": "PHOTO_BEFORE",
    "AFTER_PHOTO": "PHOTO_AFTER",
    "TEST_RESULT": "TEST_RESULT",
}


def from_anomaly(session: Session, actor: Actor, reference: str) -> WorkOrder:
    """A corrective work order carrying the anomaly's description, notes, photos and
    history, so nothing is lost on the way; the caller starts its workflow."""
    from domain.models import AnomalyAttachment
    from domain.rules import work_orders as rules
    from domain.rules.anomaly_lifecycle import SUPERVISORS, has_any
    from domain.services import anomalies as anomaly_service
    from domain.services.audit import record_change

    anomaly = anomaly_service.get_anomaly(
        session=session, organization_id=actor.organization_id, reference=reference
    )
    if anomaly.status != "IN_PROGRESS":
        raise ApiError(
            409, "Conflict", f"a work order opens from an anomaly IN_PROGRESS, not {anomaly.status}"
        )
    if anomaly.assignee_id != actor.user_id and not has_any(actor.roles, SUPERVISORS):
        raise ApiError(403, "NotAllowed", "the assignee or a supervisor opens the work order")
    existing = session.scalars(
        select(WorkOrder).where(
            WorkOrder.organization_id == actor.organization_id,
            WorkOrder.source_reference == anomaly.reference,
            WorkOrder.status.not_in(["CLOSED", "CANCELLED", "REJECTED"]),
        )
    ).first()
    if existing is not None:
        raise ApiError(409, "Conflict", f"{existing.number} is already open for {reference}")
    notes = (anomaly.work_log or {}).get("notes", [])
    history = anomaly_service.timeline(
        session=session, organization_id=actor.organization_id, reference=anomaly.reference
    )
    description = "\n".join(
        [
            anomaly.description,
            "",
            f"From anomaly {anomaly.reference} ({anomaly.criticality or 'unassessed'}), "
            f"reported by {anomaly.reporter_name} on {anomaly.detected_at:%Y-%m-%d %H:%M} UTC.",
            *(f"- {n['at'][:16]} {n['by']}: {n['note']}" for n in notes),
        ]
    )
    wo = service.create(
        session=session,
        actor=actor,
        asset=session.get(Asset, anomaly.asset_id),
        type=rules.WoType.CORRECTIVE,
        priority=rules.WoPriority(PRIORITY_BY_LEVEL.get(anomaly.criticality or "", "NORMAL")),
        source=rules.WoSource.ANOMALY,
        source_reference=anomaly.reference,
        title=anomaly.title,
        description=description,
        requires_loto=bool((anomaly.work_log or {}).get("loto_acknowledged")),
    )
    for a in session.scalars(
        select(AnomalyAttachment).where(AnomalyAttachment.anomaly_id == anomaly.id)
    ).all():
        service.add_attachment(
            session, wo, actor, rules.Evidence(EVIDENCE_BY_KIND.get(a.kind, "DOCUMENT")),
            a.filename, a.content_type, a.content, a.caption, source=anomaly.reference,
        )  # fmt: skip
    record_change(
        session=session,
        actor=actor,
        entity_type=service.ENTITY,
        entity_id=wo.number,
        action="OPENED_FROM_ANOMALY",
        before=None,
        after={
            "anomaly": anomaly.reference,
            "history": [
                {"at": h.at.isoformat(), "action": h.action, "by": h.by, "reason": h.reason}
                for h in history
            ],
        },
        reason=f"opened from {anomaly.reference}",
    )
    record_change(
        session=session,
        actor=actor,
        entity_type="ANOMALY",
        entity_id=anomaly.reference,
        action="WORK_ORDER_OPENED",
        before=None,
        after={"work_order": wo.number},
        reason=wo.title,
    )
    session.flush()
    return wo


def work_orders_of(session: Session, reference: str, organization_id: int) -> list[dict[str, str]]:
    return [
        {"number": number, "status": status, "type": type_}
        for number, status, type_ in session.execute(
            select(WorkOrder.number, WorkOrder.status, WorkOrder.type)
            .where(
                WorkOrder.organization_id == organization_id,
                WorkOrder.source_reference == reference.upper(),
            )
            .order_by(WorkOrder.id)
        ).all()
    ]
