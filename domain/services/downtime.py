"""Downtime records opened and closed with a work order or a breakdown."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import RuleViolation
from domain.models import (
    Asset,
    DowntimeRecord,
    WorkOrder,
)
from domain.rules.work_orders import FINAL
from domain.services.audit import record_change
from domain.services.events import emit

ENTITY = "DOWNTIME"


def start_downtime(
    session: Session,
    asset: Asset,
    actor: Actor,
    type: str,
    reason_code: str,
    start: datetime,
    impacted_jobs: list[str],
    details: str | None,
    work_order_number: str | None = None,
) -> DowntimeRecord:
    open_record = session.scalars(
        select(DowntimeRecord).where(
            DowntimeRecord.asset_id == asset.id, DowntimeRecord.end_time.is_(None)
        )
    ).first()
    if open_record is not None:
        return open_record  # the clock already runs for this asset
    record = DowntimeRecord(
        organization_id=asset.organization_id,
        asset_id=asset.id,
        type=type,
        reason_code=reason_code,
        reason_details=details,
        start_time=start,
        impacted_jobs=impacted_jobs,
        production_loss_value=None,
        work_order_number=work_order_number,
        reported_by=actor.full_name,
    )
    session.add(record)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=str(record.id),
        action="DOWNTIME_STARTED",
        before=None,
        after={
            "asset": asset.asset_number,
            "type": type,
            "reason_code": reason_code,
            "start_time": start.isoformat(),
            "work_order": work_order_number,
        },
        reason=details or reason_code,
    )
    emit(
        session,
        asset.organization_id,
        "downtime.started",
        "ASSET",
        asset.asset_number,
        {"downtime_id": record.id, "reason_code": reason_code, "impacted_jobs": impacted_jobs},
        f"downtime/{record.id}/started",
    )
    return record


def end_downtime(
    session: Session, record: DowntimeRecord, actor: Actor, end: datetime, reason_code: str | None
) -> DowntimeRecord:
    if record.end_time is not None:
        return record
    if end < record.start_time:
        raise RuleViolation("the downtime cannot end before it started", field="end_time")
    record.end_time = end
    record.duration_minutes = round((end - record.start_time).total_seconds() / 60)
    before = {"end_time": None, "reason_code": record.reason_code}
    if reason_code:
        record.reason_code = reason_code
    record.ended_by = actor.full_name
    asset = session.get(Asset, record.asset_id)
    if asset.production_loss_per_hour:
        record.production_loss_value = round(
            asset.production_loss_per_hour * record.duration_minutes / 60, 2
        )
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=str(record.id),
        action="DOWNTIME_ENDED",
        before=before,
        after={
            "end_time": end.isoformat(),
            "reason_code": record.reason_code,
            "duration_minutes": record.duration_minutes,
        },
        reason=reason_code or "downtime ended",
    )
    emit(
        session,
        record.organization_id,
        "downtime.ended",
        "ASSET",
        asset.asset_number,
        {
            "downtime_id": record.id,
            "reason_code": record.reason_code,
            "duration_minutes": record.duration_minutes,
        },
        f"downtime/{record.id}/ended",
    )
    return record


def shared_with_open_work(session: Session, record_id: int, number: str) -> list[str]:
    """Other work orders, not final, counting on the same downtime clock (a duplicate
    breakdown reuses the clock already running): it ends only with the last of them."""
    return list(
        session.scalars(
            select(WorkOrder.number).where(
                WorkOrder.downtime_id == record_id,
                WorkOrder.number != number,
                WorkOrder.status.not_in([s.value for s in FINAL]),
            )
        ).all()
    )
