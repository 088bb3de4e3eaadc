"""Downtime records opened and closed with a work order or a breakdown."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import RuleViolation
from domain.models import (
    Asset,
    DowntimeRecord,
)
from domain.services.events import emit


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
    if reason_code:
        record.reason_code = reason_code
    record.ended_by = actor.full_name
    asset = session.get(Asset, record.asset_id)
    if asset.production_loss_per_hour:
        record.production_loss_value = round(
            asset.production_loss_per_hour * record.duration_minutes / 60, 2
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
