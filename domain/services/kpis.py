"""Recomputing the stored anomaly KPIs, per site and for the whole enterprise, and the
open backlog of REX due."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.models import Anomaly, AuditLog, KpiValue, Rex, Site
from domain.rules.kpis import NAMES, REX_DUE, Fact, Period, RexBacklog, compute, rex_backlog
from domain.services.anomalies import ENTITY
from domain.settings import Settings


def _facts(
    session: Session, organization_id: int, since: datetime | None
) -> list[tuple[int, Fact]]:
    """Every anomaly still open or closed since `since`, with its site: the KPIs'
    populations and the backlog are all among them."""
    assigned = (
        select(func.min(AuditLog.occurred_at))
        .where(
            AuditLog.entity_type == ENTITY,
            AuditLog.entity_id == Anomaly.reference,
            AuditLog.organization_id == Anomaly.organization_id,
            AuditLog.action.in_(("ASSIGNED", "ESCALATED")),
        )
        .scalar_subquery()
    )
    a = Anomaly
    columns = (a.asset_id, a.criticality, a.occurred_at, a.detected_at, a.registered_at)
    columns += (a.accepted_at, a.resolved_at, a.closed_at, a.escalated, a.review_rejections)
    query = (
        select(a.site_id, *columns, assigned, a.approved_at, Rex.approved_at)
        .outerjoin(Rex, Rex.anomaly_id == Anomaly.id)
        .where(Anomaly.organization_id == organization_id)
    )
    if since is not None:
        query = query.where(or_(Anomaly.closed_at.is_(None), Anomaly.closed_at >= since))
    # Columns in Fact's order: only what the KPIs read, not whole records.
    return [(row[0], Fact(*row[1:])) for row in session.execute(query).all()]


def _lock(session: Session, organization_id: int) -> None:
    """Held to the end of the transaction; taken again by the same transaction, it stacks."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('anomaly_kpis'), :org)"),
        {"org": organization_id},
    )


def _clock(session: Session) -> datetime:
    """The database's clock, in UTC: one clock for every worker, and compared across a
    change of daylight saving time by the instant, not by the local hour."""
    return session.scalar(select(func.clock_timestamp())).astimezone(UTC)


def refresh(
    session: Session,
    organization_id: int,
    site_code: str,
    period_days: int = 30,
    rex_due: timedelta = REX_DUE,
) -> dict[str, float | None]:
    """What a closure asks for: the site's KPIs recomputed, unless a recompute of the site
    began after the request. That one read every closure committed before it, this one's
    included, so closures arriving together cost one or two recomputes instead of one each.
    Both moments are the database's clock, whichever worker asks; the rows are stamped with
    the moment taken once the lock is held."""
    asked = _clock(session)
    _lock(session, organization_id)
    site_id = _site_id(session, organization_id, site_code)
    stored = session.execute(
        select(KpiValue.name, KpiValue.value, KpiValue.computed_at).where(
            KpiValue.organization_id == organization_id,
            KpiValue.site_id == site_id,
            KpiValue.name.in_(NAMES),
        )
    ).all()
    if len(stored) == len(NAMES) and min(at.astimezone(UTC) for _, _, at in stored) > asked:
        return {name: value for name, value, _ in stored}
    return _rewrite(session, organization_id, site_id, _clock(session), period_days, rex_due)


def recompute(
    session: Session,
    organization_id: int,
    site_code: str,
    now: datetime,
    period_days: int = 30,
    rex_due: timedelta = REX_DUE,
) -> dict[str, float | None]:
    """Rewrite the site's and the enterprise's rows over the last `period_days`; returns the
    site's values. Closures of one organisation recompute one at a time (a transaction
    lock), so the last writer has read every earlier closure; the rows are upserted, so
    concurrent writers never collide on the unique key."""
    _lock(session, organization_id)
    site_id = _site_id(session, organization_id, site_code)
    return _rewrite(session, organization_id, site_id, now, period_days, rex_due)


def _site_id(session: Session, organization_id: int, site_code: str) -> int:
    return session.scalars(
        select(Site.id).where(Site.organization_id == organization_id, Site.code == site_code)
    ).one()


def _rewrite(
    session: Session,
    organization_id: int,
    site_id: int,
    now: datetime,
    period_days: int,
    rex_due: timedelta,
) -> dict[str, float | None]:
    """The site's and the enterprise's rows rewritten, the lock held; the site's values."""
    period = Period(now - timedelta(days=period_days), now)
    # A recurrence follows a closure in the period: detections before it never count.
    detections: dict[int, list[datetime]] = defaultdict(list)
    for asset_id, detected in session.execute(
        select(Anomaly.asset_id, Anomaly.detected_at).where(
            Anomaly.organization_id == organization_id, Anomaly.detected_at > period.start
        )
    ):
        detections[asset_id].append(detected)
    everywhere = _facts(session, organization_id, period.start)  # read once for both scopes
    result: dict[str, float | None] = {}
    for scope in (site_id, None):
        facts = [f for at, f in everywhere if scope is None or at == scope]
        kpis = compute(facts, detections, period, rex_due)
        # One statement per scope: every KPI's row upserted together.
        rows = [
            {
                "organization_id": organization_id,
                "site_id": scope,
                "name": k.name,
                "computed_at": now,
                "value": k.value,
                "unit": k.unit,
                "sample_size": k.sample_size,
            }
            for k in kpis
        ]
        upsert = insert(KpiValue).values(rows)
        session.execute(
            upsert.on_conflict_do_update(
                index_elements=["organization_id", "site_id", "name"],
                set_={
                    name: upsert.excluded[name]
                    for name in ("value", "unit", "sample_size", "computed_at")
                },
            )
        )
        if scope is not None:
            result = {k.name: k.value for k in kpis}
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


def rex_due(
    session: Session, organization_id: int, now: datetime, due: timedelta = REX_DUE
) -> dict[str | None, RexBacklog]:
    """The REX still due per site code, and for the enterprise under None, live."""
    rows = session.execute(
        select(Site.code, Anomaly.approved_at)
        .join(Site, Site.id == Anomaly.site_id)
        .outerjoin(Rex, Rex.anomaly_id == Anomaly.id)
        .where(
            Anomaly.organization_id == organization_id,
            Anomaly.approved_at.is_not(None),
            Rex.approved_at.is_(None),
        )
    ).all()
    by_site: dict[str | None, list[datetime]] = defaultdict(list)
    for code, approved_at in rows:
        by_site[code].append(approved_at)
        by_site[None].append(approved_at)
    out = {code: rex_backlog(approvals, now, due) for code, approvals in by_site.items()}
    out.setdefault(None, RexBacklog(0, 0))
    return out


def answer(session: Session, organization_id: int, settings: Settings) -> dict[str, Any]:
    """The KPI answer of the API and the page: stored values by site ("ALL" for the
    enterprise), what they cover, and the live backlog of REX due."""
    out: dict[str, dict[str, Any]] = {}
    for site, kpi in current(session, organization_id):
        out.setdefault(site or "ALL", {})[kpi.name] = {
            "value": kpi.value,
            "unit": kpi.unit,
            "sample_size": kpi.sample_size,
            "computed_at": kpi.computed_at.isoformat(),
        }
    due = timedelta(days=settings.rex_due_days)
    backlog = rex_due(session, organization_id, datetime.now(UTC), due)
    return {
        "kpis": out,
        "period_days": settings.kpi_period_days,
        "rex_due_days": settings.rex_due_days,
        "rex_backlog": {
            code or "ALL": {"due": b.due, "overdue": b.overdue} for code, b in backlog.items()
        },
    }
