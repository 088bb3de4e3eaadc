"""Auditors' pages: the audit log (who, role, when in site time and UTC, before, after,
reason) searchable by record, person and period; closed anomalies and work orders found
again and exported (CSV, Excel), each linking to its page with the full safety record."""

import csv
import io
import json
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.deps import DbSession
from api.permissions import web_door
from api.web import render
from api.web_words import home_zone, site_time, site_zones
from domain.actor import Actor
from domain.models import Anomaly, Asset, AuditLog, Permit, WorkOrder
from domain.rules.roles import Action

router = APIRouter(include_in_schema=False)
Auditor = Annotated[Actor, Depends(web_door(Action.VIEW_AUDIT))]
RecordViewer = Annotated[Actor, Depends(web_door(Action.VIEW_REPORTS))]
PAGE = 200
EXPORT_LIMIT = 50_000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _period(start: str, end: str, zone: str):
    """The days typed (in the viewer's site time) as UTC instants, end day included."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    first, last = _day(start), _day(end)
    low = datetime.combine(first, time(), tz).astimezone(UTC) if first else None
    high = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC) if last else None
    return low, high


def _export(name: str, header: list[str], rows: list[list], kind: str) -> Response:
    if kind == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet(name[:31])
        sheet.append(header)
        for row in rows:
            sheet.append(["" if v is None else str(v) for v in row])
        buffer = io.BytesIO()
        book.save(buffer)
        return Response(
            buffer.getvalue(),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
        )
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _record_zones(session, actor: Actor, rows: list[AuditLog], fallback: str) -> dict[int, str]:
    """Each audit row's zone: the site of the record it is about."""
    zones = site_zones(session, actor.organization_id)
    by_type: dict[str, set[str]] = {}
    for r in rows:
        by_type.setdefault(r.entity_type, set()).add(r.entity_id)
    site_of: dict[tuple[str, str], int] = {}
    if by_type.get("WORK_ORDER"):
        for number, site in session.execute(
            select(WorkOrder.number, Asset.site_id)
            .join(Asset, Asset.id == WorkOrder.asset_id)
            .where(WorkOrder.number.in_(by_type["WORK_ORDER"]))
        ):
            site_of[("WORK_ORDER", number)] = site
    if by_type.get("ANOMALY"):
        for ref, site in session.execute(
            select(Anomaly.reference, Anomaly.site_id).where(
                Anomaly.reference.in_(by_type["ANOMALY"])
            )
        ):
            site_of[("ANOMALY", ref)] = site
    if by_type.get("ASSET"):
        for number, site in session.execute(
            select(Asset.asset_number, Asset.site_id).where(
                Asset.organization_id == actor.organization_id,
                Asset.asset_number.in_(by_type["ASSET"]),
            )
        ):
            site_of[("ASSET", number)] = site
    return {r.id: zones.get(site_of.get((r.entity_type, r.entity_id)), fallback) for r in rows}


def _state(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str) if value else ""


@router.get("/audit", response_class=HTMLResponse)
def audit_log(
    request: Request,
    session: DbSession,
    actor: Auditor,
    record: str = "",
    person: str = "",
    start: str = "",
    end: str = "",
    format: str = "",
) -> Response:
    zone = home_zone(session, actor.user_id)
    query = select(AuditLog).where(AuditLog.organization_id == actor.organization_id)
    if record.strip():
        query = query.where(AuditLog.entity_id.ilike(f"%{record.strip()[:80]}%"))
    if person.strip():
        query = query.where(AuditLog.user_name.ilike(f"%{person.strip()[:100]}%"))
    low, high = _period(start, end, zone)
    if low:
        query = query.where(AuditLog.occurred_at >= low)
    if high:
        query = query.where(AuditLog.occurred_at < high)
    limit = EXPORT_LIMIT if format in ("csv", "xlsx") else PAGE
    rows = list(session.scalars(query.order_by(AuditLog.id.desc()).limit(limit)).all())
    zones = _record_zones(session, actor, rows, zone)
    if format in ("csv", "xlsx"):
        header = ["site time", "UTC", "record type", "record", "action", "who", "role",
                  "reason", "before", "after"]  # fmt: skip
        table = [
            [
                site_time(r.occurred_at, zones[r.id]),
                r.occurred_at.astimezone(UTC).isoformat(),
                r.entity_type,
                r.entity_id,
                r.action,
                r.user_name,
                r.user_role,
                r.reason or "",
                _state(r.previous_state),
                _state(r.new_state),
            ]  # fmt: skip
            for r in rows
        ]
        return _export("audit-log", header, table, format)
    return render(
        request, "web/audit.html", actor=actor, rows=rows, zones=zones, state=_state,
        filters={"record": record, "person": person, "start": start, "end": end}, zone=zone,
    )  # fmt: skip


@router.get("/records", response_class=HTMLResponse)
def closed_records(
    request: Request,
    session: DbSession,
    actor: RecordViewer,
    q: str = "",
    start: str = "",
    end: str = "",
    format: str = "",
) -> Response:
    """Closed anomalies and work orders, found by reference, title or asset and period."""
    zone = home_zone(session, actor.user_id)
    zones = site_zones(session, actor.organization_id)
    low, high = _period(start, end, zone)
    like = f"%{q.strip()[:100]}%"
    assets = {
        a.id: a
        for a in session.scalars(
            select(Asset).where(Asset.organization_id == actor.organization_id)
        ).all()
    }
    matching = select(Asset.id).where(Asset.asset_number.ilike(like))
    wo_query = select(WorkOrder).where(
        WorkOrder.organization_id == actor.organization_id,
        WorkOrder.status.in_(["CLOSED", "CANCELLED", "REJECTED"]),
    )
    an_query = select(Anomaly).where(
        Anomaly.organization_id == actor.organization_id, Anomaly.status == "CLOSED"
    )
    if q.strip():
        wo_query = wo_query.where(
            WorkOrder.number.ilike(like)
            | WorkOrder.title.ilike(like)
            | WorkOrder.asset_id.in_(matching)
        )
        an_query = an_query.where(
            Anomaly.reference.ilike(like)
            | Anomaly.title.ilike(like)
            | Anomaly.asset_id.in_(matching)
        )
    if low:
        wo_query = wo_query.where(WorkOrder.status_changed_at >= low)
        an_query = an_query.where(Anomaly.closed_at >= low)
    if high:
        wo_query = wo_query.where(WorkOrder.status_changed_at < high)
        an_query = an_query.where(Anomaly.closed_at < high)
    limit = EXPORT_LIMIT if format in ("csv", "xlsx") else PAGE
    wos = list(session.scalars(wo_query.order_by(WorkOrder.id.desc()).limit(limit)).all())
    anomalies = list(session.scalars(an_query.order_by(Anomaly.id.desc()).limit(limit)).all())
    permits: dict[int, list[Permit]] = {}
    for p in session.scalars(
        select(Permit).where(Permit.work_order_id.in_([w.id for w in wos]))
    ).all():
        permits.setdefault(p.work_order_id, []).append(p)
    if format in ("csv", "xlsx"):
        header = ["kind", "reference", "title", "asset", "status", "closed (site time)",
                  "closed (UTC)", "permits: who applied and removed each lock"]  # fmt: skip
        table = []
        for w in wos:
            when = w.status_changed_at
            locks = "; ".join(
                f"{p.number} {p.kind} applied by {p.issued_by}"
                + (f", removed by {p.removed_by}" if p.removed_by else ", still applied")
                for p in permits.get(w.id, [])
            )
            site = zones.get(assets[w.asset_id].site_id) if w.asset_id in assets else None
            table.append([
                "work order", w.number, w.title, assets[w.asset_id].asset_number, w.status,
                site_time(when, site), when.astimezone(UTC).isoformat() if when else "", locks,
            ])  # fmt: skip
        for a in anomalies:
            when = a.closed_at
            table.append([
                "anomaly", a.reference, a.title, assets[a.asset_id].asset_number, a.status,
                site_time(when, zones.get(a.site_id)),
                when.astimezone(UTC).isoformat() if when else "", "",
            ])  # fmt: skip
        return _export("closed-records", header, table, format)
    return render(
        request, "web/records.html", actor=actor, wos=wos, anomalies=anomalies,
        assets=assets, zones=zones, permits=permits,
        filters={"q": q, "start": start, "end": end}, zone=zone,
    )  # fmt: skip
