"""Shift reports: a shift's figures collected from the records (output, stops, quality,
energy, work orders, anomalies), the draft stored, the record its workflow writes, the
people it tells, and the lists and versions the API reads."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain.actor import Actor, system_actor
from domain.errors import Conflict, NotAllowed, NotFound, RuleViolation
from domain.models import Anomaly, Asset, QualityEvent, ShiftReport, Site, User, WorkOrder
from domain.models.people import ShiftPattern
from domain.rules import shift_reports as rules
from domain.rules.alerts import Audience, Channel
from domain.rules.oee import Interval
from domain.rules.roles import Role
from domain.rules.shifts import ShiftWindow, site_day
from domain.services import energy, oee
from domain.services.audit import record_change
from domain.services.people import on_shift, with_role
from domain.services.production import site_shift_windows
from domain.services.production_downtime import stoppages as load_stoppages

ENTITY = "SHIFT_REPORT"
# What the workflow writes on its report (the figures are the draft's, written once).
WRITABLE = frozenset(
    {
        "status",
        "notes",
        "reviewed_by",
        "reviewed_at",
        "approved_by",
        "approved_by_id",
        "approved_at",
        "reminders",
        "archive_key",
        "archived_at",
        "locked_at",
    }
)
DATETIMES = frozenset({"reviewed_at", "approved_at", "archived_at", "locked_at"})
MANAGERS = {Role.OPERATIONS_MANAGER, Role.MAINT_MANAGER}
LISTED = 50  # work orders and anomalies a report lists; the counts cover them all


def site_by_code(session: Session, organization_id: int, code: str) -> Site:
    site = session.scalar(
        select(Site).where(Site.organization_id == organization_id, Site.code == code.upper())
    )
    if site is None:
        raise NotFound(f"site {code} not found", field="site")
    return site


def shift_window(session: Session, site: Site, code: str, day: date) -> ShiftWindow:
    """The site's shift `code` starting on the site-local `day`; refused when its calendar
    has no such shift that day (a day off, a weekday it does not run)."""
    whole = site_day(day, site.timezone)
    for w in site_shift_windows(session=session, site=site, period=whole):
        if w.code == code.upper() and w.day == day:
            return w
    raise NotFound(f"site {site.code} has no shift {code.upper()} on {day}", field="shift")


def fired_shift(session: Session, site: Site, fired_at: datetime) -> ShiftWindow | None:
    """The shift a schedule fire at `fired_at` reports on (ended BUFFER before it)."""
    period = Interval(fired_at - rules.BUFFER - timedelta(days=1), fired_at)
    return rules.ended_at(site_shift_windows(session=session, site=site, period=period), fired_at)


# -- collecting --


def _supervisors(session: Session, site: Site, window: ShiftWindow) -> list[int]:
    """The site's supervisors whose pattern had them on shift at the shift's middle; all
    of the site's supervisors when no pattern matches (the report still has a reviewer)."""
    middle = window.interval.start + (window.interval.end - window.interval.start) / 2
    people = [
        u
        for u in with_role(session, site.organization_id, {Role.MAINT_SUPERVISOR})
        if u.home_site_id == site.id
    ]
    patterns = {
        p.id: p
        for p in session.scalars(
            select(ShiftPattern).where(
                ShiftPattern.id.in_([u.shift_pattern_id for u in people if u.shift_pattern_id])
            )
        )
    }
    on = [u.id for u in people if on_shift(patterns.get(u.shift_pattern_id), middle, site.timezone)]
    return on or [u.id for u in people]


def collect(session: Session, site: Site, window: ShiftWindow) -> dict[str, Any]:
    """The shift's figures. OEE comes from the shift's summed times and counts (one
    division at the end, never an average of percentages), read from its hour summaries
    where the snapshot round kept them; stops are clipped to the shift."""
    period = window.interval
    scope = oee.resolve(session=session, actor=system_actor(site.organization_id), site=site.code)
    tallies = oee.hour_tallies(session=session, scope=scope, period=period)
    figures = oee.figures_of(scope=scope, period=period, per_machine=tallies)
    stops = []
    for s in load_stoppages(session=session, machines=scope.machines, period=period):
        clipped = s.interval(period.end).clip(period)
        if clipped is not None:
            stops.append(rules.Downtime(s.reason_code, s.category, s.planned, clipped.seconds / 60))
    downtime = rules.downtime_totals(stops)
    ids = [m.id for m in scope.machines]
    quality: dict[str, int] = {}
    if ids:
        for kind, qty in session.execute(
            select(QualityEvent.event_type, func.sum(QualityEvent.quantity))
            .where(
                QualityEvent.machine_id.in_(ids),
                QualityEvent.occurred_at >= period.start,
                QualityEvent.occurred_at < period.end,
            )
            .group_by(QualityEvent.event_type)
        ):
            quality[kind] = int(qty or 0)
    used = energy.consumption(session=session, scope=scope, period=period, tallies=tallies)
    return {
        "oee": {k: v for k, v in figures.items() if k not in ("scope", "ref", "start", "end")},
        "downtime": downtime,
        "quality_events": quality,
        "energy": {k: used[k] for k in ("kwh", "cost", "currency")},
        "work_orders": _work_orders(session, site, period),
        "anomalies": _anomalies(session, site, period),
    }


def _work_orders(session: Session, site: Site, period: Interval) -> dict[str, Any]:
    at_site = (
        select(WorkOrder, Asset.asset_number)
        .join(Asset, Asset.id == WorkOrder.asset_id)
        .where(WorkOrder.organization_id == site.organization_id, Asset.site_id == site.id)
    )
    opened = WorkOrder.created_at.between(period.start, period.end)
    done = WorkOrder.completed_at.between(period.start, period.end)
    rows = session.execute(
        at_site.where(or_(opened, done)).order_by(WorkOrder.number).limit(LISTED)
    ).all()
    counts = session.execute(
        select(func.count().filter(opened), func.count().filter(done))
        .select_from(WorkOrder)
        .join(Asset, Asset.id == WorkOrder.asset_id)
        .where(WorkOrder.organization_id == site.organization_id, Asset.site_id == site.id)
    ).one()
    return {
        "opened": counts[0],
        "completed": counts[1],
        "items": [
            {
                "number": w.number,
                "type": w.type,
                "status": w.status,
                "asset": number,
                "title": w.title,
            }
            for w, number in rows
        ],  # fmt: skip
    }


def _anomalies(session: Session, site: Site, period: Interval) -> dict[str, Any]:
    where = (
        Anomaly.organization_id == site.organization_id,
        Anomaly.site_id == site.id,
        Anomaly.registered_at >= period.start,
        Anomaly.registered_at < period.end,
    )
    rows = session.scalars(select(Anomaly).where(*where).order_by(Anomaly.reference).limit(LISTED))
    return {
        "reported": session.scalar(select(func.count()).select_from(Anomaly).where(*where)),
        "items": [
            {
                "reference": a.reference,
                "title": a.title,
                "criticality": a.criticality,
                "status": a.status,
            }
            for a in rows
        ],  # fmt: skip
    }


# -- the record --


@dataclass
class Drafted:
    report: ShiftReport
    created: bool


def draft(
    *,
    session: Session,
    site: Site,
    window: ShiftWindow,
    version: int = 1,
    corrects: str | None = None,
    reason: str | None = None,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> Drafted:
    """The shift's report as a draft, once: a second call for the same shift and version
    returns the report already drafted, unchanged."""
    ref = rules.reference(site.code, window.day, window.code, version)
    existing = session.scalar(
        select(ShiftReport).where(
            ShiftReport.organization_id == site.organization_id, ShiftReport.reference == ref
        )
    )
    if existing is not None:
        return Drafted(existing, False)
    now = now or datetime.now(UTC)
    f = collect(session, site, window)
    o, d = f["oee"], f["downtime"]
    row = ShiftReport(
        organization_id=site.organization_id, site_id=site.id, reference=ref,
        shift_code=window.code, shift_day=window.day, version=version, corrects=corrects,
        correction_reason=reason, start_time=window.interval.start,
        end_time=window.interval.end, status=rules.Status.DRAFT.value,
        oee_pct=o["oee_pct"], availability_pct=o["availability_pct"],
        performance_pct=o["performance_pct"], quality_pct=o["quality_pct"],
        total_output=o["total_count"], good_output=o["good_count"],
        scrap_count=round(o["total_count"] - o["good_count"], 2),
        down_minutes=d["total_minutes"], planned_down_minutes=d["planned_minutes"],
        unplanned_down_minutes=d["unplanned_minutes"], kwh=f["energy"]["kwh"], figures=f,
        supervisor_ids=_supervisors(session, site, window), generated_at=now, last_step=0,
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_change(
        session=session,
        actor=actor or system_actor(site.organization_id, "shift report"),
        entity_type=ENTITY,
        entity_id=ref,
        action="DRAFTED" if version == 1 else "CORRECTION_DRAFTED",
        before=None,
        after={"status": row.status, "oee_pct": row.oee_pct, "version": version},
        reason=reason or f"shift {window.code} of {window.day} ended",
    )
    return Drafted(row, True)


def get_report(
    *, session: Session, organization_id: int, ref: str, lock: bool = False
) -> ShiftReport:
    """Another organisation's report is not found."""
    query = select(ShiftReport).where(
        ShiftReport.organization_id == organization_id, ShiftReport.reference == ref.upper()
    )
    if lock:
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"shift report {ref} not found", field="reference")
    return row


def load_locked(session: Session, organization_id: int, key: str) -> ShiftReport:
    return get_report(session=session, organization_id=organization_id, ref=key, lock=True)


def editable(*, session: Session, actor: Actor, ref: str) -> ShiftReport:
    """The report, if it may still be reviewed: a locked one is refused with its rule."""
    row = get_report(session=session, organization_id=actor.organization_id, ref=ref)
    refusal = rules.edit_refusal(row.status, row.reference)
    if refusal:
        raise Conflict(refusal.message, field=refusal.field)
    return row


def versions(*, session: Session, organization_id: int, ref: str) -> list[ShiftReport]:
    """Every version of the report's shift, first to last."""
    row = get_report(session=session, organization_id=organization_id, ref=ref)
    return list(
        session.scalars(
            select(ShiftReport)
            .where(
                ShiftReport.site_id == row.site_id,
                ShiftReport.shift_day == row.shift_day,
                ShiftReport.shift_code == row.shift_code,
            )
            .order_by(ShiftReport.version)
        )
    )


@dataclass
class Correction:
    site: Site
    window: ShiftWindow
    version: int
    corrects: str


def correction(*, session: Session, actor: Actor, ref: str, reason: str) -> Correction:
    """The next version of a locked report; refused while the latest version is open."""
    if len(reason.strip()) < 3:
        raise RuleViolation("reason: say what the correction corrects", field="reason")
    rows = versions(session=session, organization_id=actor.organization_id, ref=ref)
    latest = rows[-1]
    refusal = rules.review_refusal(
        roles=actor.roles, user_id=actor.user_id, supervisors=latest.supervisor_ids or []
    )
    if refusal:
        raise NotAllowed(refusal.message, field=refusal.field)
    if latest.status != rules.Status.LOCKED.value:
        raise Conflict(
            f"shift report {latest.reference} is still open ({latest.status.lower()}): "
            "review it instead of starting a new version",
            field="reference",
        )
    site = session.get(Site, latest.site_id)
    window = shift_window(session, site, latest.shift_code, latest.shift_day)
    return Correction(site, window, latest.version + 1, latest.reference)


def site_code_of(session: Session, row: Any) -> str:
    return session.get(Site, row.site_id).code


def references_of(session: Session, ids: list[int | None]) -> dict[int, str]:
    """Report references by id, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return dict(
        session.execute(
            select(ShiftReport.id, ShiftReport.reference).where(ShiftReport.id.in_(wanted))
        ).all()
    )


def list_reports(
    *,
    session: Session,
    organization_id: int,
    site: str | None = None,
    status: str | None = None,
    start: date | None = None,
    end: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[ShiftReport, str]], int]:
    """Newest shift first, with its site's code; one query for the page, one for the count."""
    where = [ShiftReport.organization_id == organization_id]
    if site:
        where.append(Site.code == site.upper())
    if status:
        where.append(ShiftReport.status == status.upper())
    if start:
        where.append(ShiftReport.shift_day >= start)
    if end:
        where.append(ShiftReport.shift_day <= end)
    base = select(ShiftReport, Site.code).join(Site, Site.id == ShiftReport.site_id).where(*where)
    total = session.scalar(select(func.count()).select_from(base.subquery()))
    rows = session.execute(
        base.order_by(
            ShiftReport.start_time.desc(), ShiftReport.site_id, ShiftReport.version.desc()
        )
        .limit(limit)
        .offset(offset)
    ).all()
    return [(r, code) for r, code in rows], total


# -- notices: who hears of a report, and what it says --


def notice(session: Session, organization_id: int, ref: str) -> ShiftReport:
    return get_report(session=session, organization_id=organization_id, ref=ref)


def audience(session: Session, r: ShiftReport, who: Audience, now: datetime) -> list[User]:
    """The supervisors of the shift (ON_DUTY_SUPERVISOR) or the site's management."""
    if who is Audience.ON_DUTY_SUPERVISOR:
        ids = set(r.supervisor_ids or [])
        return [u for u in with_role(session, r.organization_id, {Role.MAINT_SUPERVISOR})
                if u.id in ids]  # fmt: skip
    if who is Audience.MANAGER:
        return [
            u
            for u in with_role(session, r.organization_id, MANAGERS)
            if u.home_site_id in (None, r.site_id)
        ]
    return []


TITLES = {
    "SHIFT_REPORT_READY": "Shift report to review",
    "SHIFT_REPORT_REMINDER": "Reminder: shift report waiting for review",
    "SHIFT_REPORT_APPROVED": "Shift report approved",
}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}%"


def render(
    event: str, channel: Channel, r: ShiftReport, user: User, context: dict[str, Any]
) -> tuple[str, str]:
    title = f"{TITLES.get(event, event)}: {r.reference}"
    parts = [
        f"shift {r.shift_code} of {r.shift_day.isoformat()}",
        f"OEE {_pct(r.oee_pct)} (availability {_pct(r.availability_pct)}, performance "
        f"{_pct(r.performance_pct)}, quality {_pct(r.quality_pct)})",
        f"output {r.total_output:g}, good {r.good_output:g}, scrap {r.scrap_count:g}",
        f"downtime {r.down_minutes:g} min ({r.unplanned_down_minutes:g} unplanned)",
    ]
    if context.get("approved_by"):
        parts.append(f"approved by {context['approved_by']}")
    if context.get("reminder"):
        parts.append(f"reminder {context['reminder']}")
    if r.notes:
        parts.append(f"notes: {r.notes}")
    return title, "; ".join(parts)
