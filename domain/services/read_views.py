"""Lists and details read as plain columns: the same answers as the records' `to_out`,
without building ORM objects for rows that are only shown. A page is a fixed number of
statements (the count, the rows, one per kind of line), whatever it holds."""

from typing import Any

from sqlalchemy import Select, func, literal_column, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
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


def _lines(parent: Any, key: Any, order: Any, **fields: Any) -> Any:
    """A record's lines of one kind as a JSON array of {field: column}, in `order`: one
    correlated subquery in the record's own statement, so a page is one round trip."""
    pairs = [p for name, column in fields.items() for p in (literal_column(f"'{name}'"), column)]
    agg = func.json_agg(aggregate_order_by(func.json_build_object(*pairs), order))
    empty = literal_column("'[]'::json")
    return select(func.coalesce(agg, empty)).where(key == parent).scalar_subquery()


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
A = AnomalyAttachment

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
    _lines(
        Anomaly.id, A.anomaly_id, A.id,
        id=A.id, kind=A.kind, filename=A.filename, content_type=A.content_type, size=A.size,
        caption=A.caption, uploaded_by=A.uploaded_by, uploaded_at=A.uploaded_at,
    ).label("attachments"),
)  # fmt: skip


def _anomaly_rows(session: Session, query: Select) -> list[dict[str, Any]]:
    rows = session.execute(
        query.with_only_columns(*_ANOMALY_COLUMNS, maintain_column_froms=True).outerjoin(
            _Assignee, _Assignee.id == Anomaly.assignee_id
        )
    ).all()
    return [_anomaly(r) for r in rows]


def _anomaly(r: Any) -> dict[str, Any]:
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
        "attachments": r.attachments,
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
    _lines(
        Asset.id, Meter.asset_id, Meter.id,
        meter_type=Meter.meter_type, unit=Meter.unit, current_reading=Meter.current_reading,
        last_reading_at=Meter.last_reading_at,
    ).label("meters"),
    Asset.updated_at,
)  # fmt: skip


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
    items = []
    for r in session.execute(page).all():
        item = r._asdict()
        item["category"] = r.category.value
        items.append(item)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


# -- work orders --

T, L, P, PT, F = WorkOrderTask, WorkOrderLabor, WorkOrderPart, Permit, WorkOrderAttachment

_WORK_ORDER_COLUMNS = (
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
    _lines(
        WorkOrder.id, T.work_order_id, T.sequence,
        sequence=T.sequence, description=T.description, required=T.is_required,
        requires_measurement=T.requires_measurement, unit=T.measurement_unit,
        spec_min=T.spec_min, spec_max=T.spec_max, measurement_value=T.measurement_value,
        measurement_passed=T.measurement_passed, completed=T.completed,
        completed_by=T.completed_by,
    ).label("tasks"),
    _lines(
        WorkOrder.id, L.work_order_id, L.id,
        technician=L.technician_name, hours=L.hours, type=L.labor_type, cost=L.total_cost,
    ).label("labor"),
    _lines(
        WorkOrder.id, P.work_order_id, P.id,
        part_id=P.part_id, required=P.quantity_required, used=P.quantity_used,
        serial_numbers=P.serial_numbers, issued_by=P.issued_by, unit_cost=P.unit_cost,
    ).label("parts"),
    _lines(
        WorkOrder.id, PT.work_order_id, PT.id,
        number=PT.number, kind=PT.kind, status=PT.status, issued_by=PT.issued_by,
        energy_sources=PT.energy_sources, isolation_verified=PT.isolation_verified,
        removed_by=PT.removed_by,
    ).label("permits"),
    _lines(
        WorkOrder.id, F.work_order_id, F.id,
        id=F.id, kind=F.kind, filename=F.filename, source=F.source, uploaded_by=F.uploaded_by,
    ).label("attachments"),
)  # fmt: skip


def _work_order_rows(session: Session, query: Select) -> list[dict[str, Any]]:
    rows = session.execute(
        query.with_only_columns(*_WORK_ORDER_COLUMNS, maintain_column_froms=True).join(
            _Asset, _Asset.id == WorkOrder.asset_id
        )
    ).all()
    return [_work_order(r) for r in rows]


def _work_order(r: Any) -> dict[str, Any]:
    item = r._asdict()
    item["asset_status"] = r.asset_status.value
    # As WorkOrder.labor_cost and parts_cost: summed from the lines in the same order.
    labor_cost = round(sum(e["cost"] for e in r.labor), 2)
    parts_cost = round(sum((p["used"] or 0) * (p.pop("unit_cost") or 0) for p in r.parts), 2)
    item["labor_cost"] = labor_cost
    item["parts_cost"] = parts_cost
    item["total_cost"] = round(labor_cost + parts_cost, 2)
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
