"""Lists and details read as plain columns: the same answers as the records' `to_out`,
without building ORM objects for rows that are only shown. A page is a fixed number of
statements (the count, the rows, one per kind of line), whatever it holds."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from domain.models import (
    Anomaly,
    AnomalyAttachment,
    Area,
    Asset,
    AssetType,
    Meter,
    Permit,
    Site,
    User,
    WorkCenter,
    WorkOrder,
    WorkOrderAttachment,
    WorkOrderLabor,
    WorkOrderPart,
    WorkOrderTask,
)


def _lines(session: Session, query: Select, key: Any, ids: Sequence[int]) -> dict[int, list]:
    """Rows of one kind of line, grouped by their parent's id, in the query's order."""
    found: dict[int, list] = defaultdict(list)
    if ids:
        for row in session.execute(query.where(key.in_(ids))).all():
            found[row[0]].append(row)
    return found


def _count(session: Session, query: Select) -> int:
    return session.scalar(select(func.count()).select_from(query.subquery())) or 0


# Aliases: a filter may already join the plain table (an asset's number, a site's code).
_Assignee = aliased(User)
_Type = aliased(AssetType)
_Site = aliased(Site)
_Area = aliased(Area)
_WorkCenter = aliased(WorkCenter)
_Parent = aliased(Asset)
_Asset = aliased(Asset)

# -- anomalies --

_ANOMALY_COLUMNS = (
    Anomaly.id,
    Anomaly.reference,
    Anomaly.status,
    Anomaly.title,
    Anomaly.description,
    Anomaly.location,
    Anomaly.channel,
    Anomaly.reporter_name,
    Anomaly.occurred_at,
    Anomaly.detected_at,
    Anomaly.registered_at,
    Anomaly.latitude,
    Anomaly.longitude,
    Anomaly.criticality,
    Anomaly.criticality_score,
    Anomaly.criticality_reasons,
    Anomaly.response_deadline,
    Anomaly.dashboard_flag,
    Anomaly.alert_acknowledged_at,
    Anomaly.assignee_id,
    Anomaly.assignment_score,
    Anomaly.assignment_explanation,
    Anomaly.escalation_level,
    Anomaly.eta,
    Anomaly.accepted_at,
    Anomaly.resolved_at,
    Anomaly.closed_at,
    Anomaly.resolution,
    Anomaly.work_log,
    Anomaly.enrichment,
    _Assignee.username.label("assignee_username"),
)

_ANOMALY_ATTACHMENTS = select(
    AnomalyAttachment.anomaly_id,
    AnomalyAttachment.id,
    AnomalyAttachment.kind,
    AnomalyAttachment.filename,
    AnomalyAttachment.content_type,
    AnomalyAttachment.size,
    AnomalyAttachment.caption,
    AnomalyAttachment.uploaded_by,
    AnomalyAttachment.uploaded_at,
).order_by(AnomalyAttachment.id)


def _anomaly_rows(session: Session, query: Select) -> list[dict[str, Any]]:
    rows = session.execute(
        query.with_only_columns(*_ANOMALY_COLUMNS, maintain_column_froms=True).outerjoin(
            _Assignee, _Assignee.id == Anomaly.assignee_id
        )
    ).all()
    ids = [r.id for r in rows]
    files = _lines(session, _ANOMALY_ATTACHMENTS, AnomalyAttachment.anomaly_id, ids)
    return [_anomaly(r, files.get(r.id, ())) for r in rows]


def _anomaly(r: Any, files: Sequence[Any]) -> dict[str, Any]:
    e = r.enrichment or {}
    return {
        "reference": r.reference,
        "status": r.status,
        "title": r.title,
        "description": r.description,
        "asset": e.get("asset_number", ""),
        "site": e.get("site_code", ""),
        "location": r.location,
        "channel": r.channel,
        "reporter": r.reporter_name,
        "occurred_at": r.occurred_at,
        "detected_at": r.detected_at,
        "registered_at": r.registered_at,
        "latitude": r.latitude,
        "longitude": r.longitude,
        "criticality": r.criticality,
        "criticality_score": r.criticality_score,
        "criticality_reasons": r.criticality_reasons or [],
        "response_deadline": r.response_deadline,
        "dashboard_flag": r.dashboard_flag,
        "alert_acknowledged_at": r.alert_acknowledged_at,
        "assignee": r.assignee_username if r.assignee_id is not None else None,
        "assignment_score": r.assignment_score,
        "assignment_explanation": r.assignment_explanation or [],
        "escalation_level": r.escalation_level,
        "eta": r.eta,
        "accepted_at": r.accepted_at,
        "resolved_at": r.resolved_at,
        "closed_at": r.closed_at,
        "resolution": r.resolution or {},
        "work_log": r.work_log or {},
        "enrichment": e,
        "attachments": [
            {
                "id": a.id,
                "kind": a.kind,
                "filename": a.filename,
                "content_type": a.content_type,
                "size": a.size,
                "caption": a.caption,
                "uploaded_by": a.uploaded_by,
                "uploaded_at": a.uploaded_at,
            }
            for a in files
        ],
        "live": None,
    }


def anomaly_page(session: Session, query: Select, limit: int, offset: int) -> dict[str, Any]:
    """A page of the anomalies `query` (a filtered select of Anomaly) picks, newest first."""
    total = _count(session, query)
    page = (
        query.order_by(Anomaly.registered_at.desc(), Anomaly.id.desc()).limit(limit).offset(offset)
    )
    return {
        "items": _anomaly_rows(session, page),
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def anomaly_view(session: Session, organization_id: int, reference: str) -> dict[str, Any] | None:
    """An anomaly's answer as stored (without its live state), or None."""
    rows = _anomaly_rows(
        session,
        select(Anomaly).where(
            Anomaly.organization_id == organization_id, Anomaly.reference == reference.upper()
        ),
    )
    return rows[0] if rows else None


# -- assets --

_ASSET_COLUMNS = (
    Asset.id,
    Asset.asset_number,
    Asset.name,
    Asset.description,
    _Type.code.label("type_code"),
    _Type.name.label("type_name"),
    _Type.category,
    Asset.criticality,
    Asset.status,
    Asset.status_reason,
    Asset.status_changed_at,
    Asset.status_changed_by,
    _Site.code.label("site_code"),
    _Area.code.label("area_code"),
    _WorkCenter.code.label("work_center_code"),
    _Parent.asset_number.label("parent_asset_number"),
    Asset.manufacturer,
    Asset.model,
    Asset.serial_number,
    Asset.install_date,
    Asset.requires_certification,
    Asset.certification_expiry,
    Asset.production_loss_per_hour,
    Asset.latitude,
    Asset.longitude,
    Asset.updated_at,
)

_METERS = select(
    Meter.asset_id, Meter.meter_type, Meter.unit, Meter.current_reading, Meter.last_reading_at
).order_by(Meter.id)


def asset_page(session: Session, query: Select, limit: int, offset: int) -> dict[str, Any]:
    """A page of the assets `query` (a filtered select of Asset) picks, by number."""
    total = _count(session, query)
    page = (
        query.with_only_columns(*_ASSET_COLUMNS, maintain_column_froms=True)
        .join(_Type, _Type.id == Asset.type_id)
        .join(_Site, _Site.id == Asset.site_id)
        .outerjoin(_Area, _Area.id == Asset.area_id)
        .outerjoin(_WorkCenter, _WorkCenter.id == Asset.work_center_id)
        .outerjoin(_Parent, _Parent.id == Asset.parent_asset_id)
        .order_by(Asset.asset_number)
        .limit(limit)
        .offset(offset)
    )
    rows = session.execute(page).all()
    meters = _lines(session, _METERS, Meter.asset_id, [r.id for r in rows])
    items = []
    for r in rows:
        item = r._asdict()
        item["category"] = r.category.value
        item["meters"] = [
            {
                "meter_type": m.meter_type,
                "unit": m.unit,
                "current_reading": m.current_reading,
                "last_reading_at": m.last_reading_at,
            }
            for m in meters.get(r.id, ())
        ]
        items.append(item)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


# -- work orders --

_WORK_ORDER_COLUMNS = (
    WorkOrder.id,
    WorkOrder.number,
    WorkOrder.type,
    WorkOrder.priority,
    WorkOrder.source,
    WorkOrder.source_reference,
    WorkOrder.status,
    _Asset.asset_number.label("asset"),
    _Asset.status.label("asset_status"),
    WorkOrder.title,
    WorkOrder.description,
    WorkOrder.assigned_to_id,
    WorkOrder.scheduled_date,
    WorkOrder.estimated_hours,
    WorkOrder.estimated_cost,
    WorkOrder.requires_loto,
    WorkOrder.requires_hot_work,
    WorkOrder.requires_confined_space,
    WorkOrder.requires_first_article,
    WorkOrder.first_article_passed,
    WorkOrder.after_stop_work,
    WorkOrder.started_at,
    WorkOrder.completed_at,
    WorkOrder.verified_at,
    WorkOrder.verification,
    WorkOrder.test_run_passed,
    WorkOrder.approvals,
    WorkOrder.closed_at,
    WorkOrder.cancel_reason,
)

_TASKS = select(
    WorkOrderTask.work_order_id,
    WorkOrderTask.sequence,
    WorkOrderTask.description,
    WorkOrderTask.is_required,
    WorkOrderTask.requires_measurement,
    WorkOrderTask.measurement_unit,
    WorkOrderTask.spec_min,
    WorkOrderTask.spec_max,
    WorkOrderTask.measurement_value,
    WorkOrderTask.measurement_passed,
    WorkOrderTask.completed,
    WorkOrderTask.completed_by,
).order_by(WorkOrderTask.sequence)
_LABOR = select(
    WorkOrderLabor.work_order_id,
    WorkOrderLabor.technician_name,
    WorkOrderLabor.hours,
    WorkOrderLabor.labor_type,
    WorkOrderLabor.total_cost,
).order_by(WorkOrderLabor.id)
_PARTS = select(
    WorkOrderPart.work_order_id,
    WorkOrderPart.part_id,
    WorkOrderPart.quantity_required,
    WorkOrderPart.quantity_used,
    WorkOrderPart.unit_cost,
    WorkOrderPart.serial_numbers,
    WorkOrderPart.issued_by,
).order_by(WorkOrderPart.id)
_PERMITS = select(
    Permit.work_order_id,
    Permit.number,
    Permit.kind,
    Permit.status,
    Permit.issued_by,
    Permit.energy_sources,
    Permit.isolation_verified,
    Permit.removed_by,
).order_by(Permit.id)
_WO_FILES = select(
    WorkOrderAttachment.work_order_id,
    WorkOrderAttachment.id,
    WorkOrderAttachment.kind,
    WorkOrderAttachment.filename,
    WorkOrderAttachment.source,
    WorkOrderAttachment.uploaded_by,
).order_by(WorkOrderAttachment.id)


def _work_order_rows(session: Session, query: Select) -> list[dict[str, Any]]:
    rows = session.execute(
        query.with_only_columns(*_WORK_ORDER_COLUMNS, maintain_column_froms=True).join(
            _Asset, _Asset.id == WorkOrder.asset_id
        )
    ).all()
    ids = [r.id for r in rows]
    tasks = _lines(session, _TASKS, WorkOrderTask.work_order_id, ids)
    labor = _lines(session, _LABOR, WorkOrderLabor.work_order_id, ids)
    parts = _lines(session, _PARTS, WorkOrderPart.work_order_id, ids)
    permits = _lines(session, _PERMITS, Permit.work_order_id, ids)
    files = _lines(session, _WO_FILES, WorkOrderAttachment.work_order_id, ids)
    return [
        _work_order(
            r,
            tasks.get(r.id, ()),
            labor.get(r.id, ()),
            parts.get(r.id, ()),
            permits.get(r.id, ()),
            files.get(r.id, ()),
        )
        for r in rows
    ]


def _work_order(r, tasks, labor, parts, permits, files) -> dict[str, Any]:
    item = r._asdict()
    del item["id"]
    item["asset_status"] = r.asset_status.value
    # As WorkOrder.labor_cost and parts_cost: read from the lines, rounded the same way.
    labor_cost = round(sum(e.total_cost for e in labor), 2)
    parts_cost = round(sum((p.quantity_used or 0) * (p.unit_cost or 0) for p in parts), 2)
    item["labor_cost"] = labor_cost
    item["parts_cost"] = parts_cost
    item["total_cost"] = round(labor_cost + parts_cost, 2)
    item["tasks"] = [
        {"sequence": t.sequence, "description": t.description, "required": t.is_required,
         "requires_measurement": t.requires_measurement, "unit": t.measurement_unit,
         "spec_min": t.spec_min, "spec_max": t.spec_max,
         "measurement_value": t.measurement_value, "measurement_passed": t.measurement_passed,
         "completed": t.completed, "completed_by": t.completed_by}
        for t in tasks
    ]  # fmt: skip
    item["labor"] = [
        {"technician": e.technician_name, "hours": e.hours, "type": e.labor_type,
         "cost": e.total_cost}
        for e in labor
    ]  # fmt: skip
    item["parts"] = [
        {"part_id": p.part_id, "required": p.quantity_required, "used": p.quantity_used,
         "serial_numbers": p.serial_numbers, "issued_by": p.issued_by}
        for p in parts
    ]  # fmt: skip
    item["permits"] = [
        {"number": p.number, "kind": p.kind, "status": p.status, "issued_by": p.issued_by,
         "energy_sources": p.energy_sources, "isolation_verified": p.isolation_verified,
         "removed_by": p.removed_by}
        for p in permits
    ]  # fmt: skip
    item["attachments"] = [
        {"id": a.id, "kind": a.kind, "filename": a.filename, "source": a.source,
         "uploaded_by": a.uploaded_by}
        for a in files
    ]  # fmt: skip
    item["live"] = None
    return item


def work_order_page(session: Session, query: Select, limit: int, offset: int) -> dict[str, Any]:
    """A page of the work orders `query` (a filtered select of WorkOrder) picks, newest first."""
    total = _count(session, query)
    page = query.order_by(WorkOrder.id.desc()).limit(limit).offset(offset)
    return {
        "items": _work_order_rows(session, page),
        "total": total,
        "limit": limit,
        "offset": offset,
    }


def work_order_view(session: Session, organization_id: int, number: str) -> dict[str, Any] | None:
    """A work order's answer as stored (without its live state), or None."""
    rows = _work_order_rows(
        session,
        select(WorkOrder).where(
            WorkOrder.organization_id == organization_id, WorkOrder.number == number.upper()
        ),
    )
    return rows[0] if rows else None
