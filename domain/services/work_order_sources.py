"""Work orders opened from another record: an anomaly in progress becomes a corrective
work order carrying everything said and shown about it."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import Conflict, NotAllowed
from domain.models import AnomalyAttachment, Asset, WorkOrder
from domain.rules import work_orders as rules
from domain.rules.anomaly_lifecycle import SUPERVISORS, has_any
from domain.services import anomalies as anomaly_service
from domain.services import work_orders as service
from domain.services.audit import record_change

PRIORITY_BY_LEVEL = {"G1": "EMERGENCY", "G2": "HIGH", "G3": "NORMAL", "G4": "LOW"}
EVIDENCE_BY_KIND = {
    "BEFORE_PHOTO": "PHOTO_BEFORE",
    "AFTER_PHOTO": "PHOTO_AFTER",
    "TEST_RESULT": "TEST_RESULT",
}


def from_anomaly(*, session: Session, actor: Actor, reference: str) -> WorkOrder:
    """A corrective work order carrying the anomaly's description, notes, photos and
    history, so nothing is lost on the way; the caller starts its workflow."""
    anomaly = anomaly_service.get_anomaly(
        session=session, organization_id=actor.organization_id, reference=reference
    )
    if anomaly.status != "IN_PROGRESS":
        raise Conflict(f"a work order opens from an anomaly IN_PROGRESS, not {anomaly.status}")
    if anomaly.assignee_id != actor.user_id and not has_any(actor.roles, SUPERVISORS):
        raise NotAllowed("the assignee or a supervisor opens the work order")
    existing = session.scalars(
        select(WorkOrder).where(
            WorkOrder.organization_id == actor.organization_id,
            WorkOrder.source_reference == anomaly.reference,
            WorkOrder.status.not_in(["CLOSED", "CANCELLED", "REJECTED"]),
        )
    ).first()
    if existing is not None:
        raise Conflict(f"{existing.number} is already open for {reference}")
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
