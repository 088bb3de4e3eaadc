"""The PM dashboard metrics of seed 003 D.4 for a site (or every site) and a period:
compliance, backlog, completion time against estimate, effectiveness, cost per asset."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from domain.models import Asset, PmSchedule, Site, WorkOrder
from domain.rules import pm as rules

# D.4: a failure within this long after a PM counts against the PM's effectiveness.
EFFECTIVE_DAYS = 30
FAILURES = ("BREAKDOWN", "CORRECTIVE")


@dataclass
class PmMetrics:
    site: str | None
    period_start: datetime
    period_end: datetime
    due: int  # PM work orders due in the period
    completed_on_time: int
    compliance_pct: float | None  # completed on time / due x 100 (target >= 95)
    backlog: int  # schedules overdue now (target 0)
    completed: int  # PM work orders completed in the period
    estimated_hours: float
    actual_hours: float
    completion_time_variance_pct: float | None  # (actual - estimated) / estimated (+-10 %)
    failures_within_30_days: int
    effectiveness_failure_pct: float | None  # failures after a PM / PMs done (target < 2)
    pm_cost: float
    assets: int  # assets with an active PM schedule
    cost_per_asset: float | None


def _pct(part: float, whole: float) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def metrics(
    *,
    session: Session,
    organization_id: int,
    start: datetime,
    end: datetime,
    now: datetime,
    site: str | None = None,
) -> PmMetrics:
    site_id = None
    if site:
        site_id = session.scalar(
            select(Site.id).where(
                Site.organization_id == organization_id, Site.code == site.upper()
            )
        )
    pm = (
        select(WorkOrder)
        .join(Asset, Asset.id == WorkOrder.asset_id)
        .where(WorkOrder.organization_id == organization_id, WorkOrder.type == "PM")
        .options(selectinload(WorkOrder.labor), selectinload(WorkOrder.parts))
    )
    if site:
        pm = pm.where(Asset.site_id == site_id)
    due_at = func.coalesce(WorkOrder.scheduled_date, WorkOrder.created_at)
    due_rows = session.scalars(pm.where(due_at >= start, due_at < end)).all()
    on_time = [
        w
        for w in due_rows
        if w.completed_at is not None and w.completed_at <= (w.scheduled_date or w.created_at)
    ]
    done = session.scalars(
        pm.where(WorkOrder.completed_at >= start, WorkOrder.completed_at < end)
    ).all()
    estimated = sum(w.estimated_hours or 0.0 for w in done if w.estimated_hours)
    actual = sum(sum(entry.hours for entry in w.labor) for w in done if w.estimated_hours)
    failures = 0
    for w in done:
        failures += (
            session.scalar(
                select(func.count())
                .select_from(WorkOrder)
                .where(
                    WorkOrder.asset_id == w.asset_id,
                    WorkOrder.type.in_(FAILURES),
                    WorkOrder.created_at > w.completed_at,
                    WorkOrder.created_at <= w.completed_at + timedelta(days=EFFECTIVE_DAYS),
                )
            )
            or 0
        )
    cost = round(sum(w.labor_cost + w.parts_cost for w in done), 2)
    schedules = (
        select(PmSchedule)
        .join(Asset, Asset.id == PmSchedule.asset_id)
        .where(PmSchedule.organization_id == organization_id, PmSchedule.is_active.is_(True))
    )
    if site:
        schedules = schedules.where(Asset.site_id == site_id)
    rows = session.scalars(schedules).all()
    backlog = sum(
        1
        for r in rows
        if not r.is_paused
        and rules.days_overdue(
            rules.overdue_since(due=r.next_due_date, meter_due_at=r.meter_due_at), now
        )
        is not None
    )
    assets = len({r.asset_id for r in rows})
    return PmMetrics(
        site=site.upper() if site else None,
        period_start=start,
        period_end=end,
        due=len(due_rows),
        completed_on_time=len(on_time),
        compliance_pct=_pct(len(on_time), len(due_rows)),
        backlog=backlog,
        completed=len(done),
        estimated_hours=round(estimated, 2),
        actual_hours=round(actual, 2),
        completion_time_variance_pct=_pct(actual - estimated, estimated),
        failures_within_30_days=failures,
        effectiveness_failure_pct=_pct(failures, len(done)),
        pm_cost=cost,
        assets=assets,
        cost_per_asset=round(cost / assets, 2) if assets else None,
    )
