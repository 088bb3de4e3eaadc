"""Recomputing the stored anomaly KPIs, per site and for the whole enterprise."""

from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from domain.models import Anomaly, KpiValue, Rex, Site
from domain.rules.kpis import Fact, compute


def _facts(session: Session, organization_id: int, site_id: int | None) -> list[Fact]:
    query = (
        select(Anomaly, Rex.status)
        .outerjoin(Rex, Rex.anomaly_id == Anomaly.id)
        .where(Anomaly.organization_id == organization_id, Anomaly.status == "CLOSED")
    )
    if site_id is not None:
        query = query.where(Anomaly.site_id == site_id)
    return [
        Fact(
            a.asset_id,
            a.criticality,
            a.occurred_at,
            a.detected_at,
            a.registered_at,
            a.accepted_at,
            a.resolved_at,
            a.closed_at,
            a.escalated,
            a.review_rejections,
            rex_status == "APPROVED",
        )
        for a, rex_status in session.execute(query).all()
    ]


def recompute(
    session: Session, organization_id: int, site_code: str, now: datetime
) -> dict[str, float | None]:
    """Rewrite the site's and the enterprise's rows; returns the site's values."""
    detections: dict[int, list[datetime]] = defaultdict(list)
    for asset_id, detected in session.execute(
        select(Anomaly.asset_id, Anomaly.detected_at).where(
            Anomaly.organization_id == organization_id
        )
    ):
        detections[asset_id].append(detected)
    site = session.scalars(
        select(Site).where(Site.organization_id == organization_id, Site.code == site_code)
    ).one()
    result: dict[str, float | None] = {}
    for site_id in (site.id, None):
        kpis = compute(_facts(session, organization_id, site_id), detections)
        session.execute(
            delete(KpiValue).where(
                KpiValue.organization_id == organization_id,
                KpiValue.site_id.is_(None) if site_id is None else KpiValue.site_id == site_id,
            )
        )
        for k in kpis:
            session.add(
                KpiValue(
                    organization_id=organization_id,
                    site_id=site_id,
                    name=k.name,
                    value=k.value,
                    unit=k.unit,
                    sample_size=k.sample_size,
                    computed_at=now,
                )
            )
            if site_id is not None:
                result[k.name] = k.value
    session.flush()
    return result


def current(session: Session, organization_id: int) -> list[tuple[str | None, KpiValue]]:
    rows = session.execute(
        select(Site.code, KpiValue)
        .outerjoin(Site, Site.id == KpiValue.site_id)
        .where(KpiValue.organization_id == organization_id)
        .order_by(Site.code.nulls_first(), KpiValue.name)
    ).all()
    return [(code, kpi) for code, kpi in rows]
