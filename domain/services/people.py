"""Who can be reached or assigned: technicians as assignment candidates, and the
people behind each alert audience."""

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import String, func, select
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.orm import Session, joinedload, selectinload

from domain.models import Anomaly, Asset, ShiftPattern, Site, User
from domain.rules.alerts import Audience
from domain.rules.anomaly_lifecycle import MANAGERS, REX_REVIEWERS, TECHNICIANS
from domain.rules.assignment import Candidate, haversine_km
from domain.rules.roles import Role

OPEN_STATUSES = ("ASSIGNED", "ESCALATED", "IN_PROGRESS", "RESOLVED")


def on_shift(pattern: ShiftPattern | None, at: datetime, timezone: str) -> bool:
    """No pattern means day work, Monday to Friday, 07:00 to 17:00 site time."""
    local = at.astimezone(ZoneInfo(timezone))
    if pattern is None:
        return local.weekday() < 5 and 7 <= local.hour < 17
    now, start, end = local.time(), pattern.starts_at, pattern.ends_at
    if start <= end:
        return local.isoweekday() in pattern.weekdays and start <= now < end
    # Over midnight: the part after midnight belongs to the previous day's shift.
    if now >= start:
        return local.isoweekday() in pattern.weekdays
    yesterday = (local.isoweekday() - 2) % 7 + 1
    return now < end and yesterday in pattern.weekdays


def with_role(
    session: Session, organization_id: int, roles: set[Role], *, skills: bool = True
) -> list[User]:
    """With what the assignment and the audiences read of each person, loaded in a fixed
    number of queries (not one more per person). Without `skills`: only the site clearances
    and the shift, which are all that finding a supervisor or a manager reads (an
    escalation's lookup, on the safety watch's path)."""
    details = [selectinload(User.skills), selectinload(User.certifications)] if skills else []
    return list(
        session.scalars(
            select(User)
            .options(
                *details,
                selectinload(User.clearances),
                joinedload(User.shift_pattern),
            )
            .where(
                User.organization_id == organization_id,
                User.is_active.is_(True),
                User.roles.op("&&")(array([r.value for r in roles], type_=String(40))),
            )
            .order_by(User.id)
        ).all()
    )


def _cleared(user: User, site_id: int, today) -> bool:
    return any(
        c.site_id == site_id and (c.expires_on is None or c.expires_on >= today)
        for c in user.clearances
    )


def candidates(session: Session, anomaly: Anomaly, at: datetime) -> list[Candidate]:
    site = session.get(Site, anomaly.site_id)
    asset = session.get(Asset, anomaly.asset_id)
    target = (
        (anomaly.latitude, anomaly.longitude)
        if anomaly.latitude is not None
        else (asset.latitude, asset.longitude)
        if asset.latitude is not None
        else (site.latitude, site.longitude)
    )
    loads = dict(
        session.execute(
            select(Anomaly.assignee_id, func.count())
            .where(
                Anomaly.organization_id == anomaly.organization_id,
                Anomaly.status.in_(OPEN_STATUSES),
                Anomaly.assignee_id.is_not(None),
            )
            .group_by(Anomaly.assignee_id)
        ).all()
    )
    today = at.astimezone(ZoneInfo(site.timezone)).date()
    found = []
    for user in with_role(session, anomaly.organization_id, TECHNICIANS):
        distance = None
        if user.last_latitude is not None and target[0] is not None:
            distance = haversine_km(user.last_latitude, user.last_longitude, *target)
        found.append(
            Candidate(
                user_id=user.id,
                username=user.username,
                full_name=user.full_name,
                skills={us.skill.code: us.level for us in user.skills},
                valid_certifications=frozenset(
                    c.code for c in user.certifications if not c.expires_on or c.expires_on >= today
                ),
                expired_certifications=frozenset(
                    c.code for c in user.certifications if c.expires_on and c.expires_on < today
                ),
                cleared_for_site=_cleared(user, site.id, today),
                distance_km=distance,
                open_assignments=loads.get(user.id, 0),
                on_shift=on_shift(user.shift_pattern, at, site.timezone),
            )
        )
    return found


def on_duty_supervisor(session: Session, anomaly: Anomaly, at: datetime) -> User | None:
    """The site's supervisor on shift now; else any supervisor of the site; else a manager."""
    site = session.get(Site, anomaly.site_id)
    supervisors = [
        u
        for u in with_role(session, anomaly.organization_id, {Role.MAINT_SUPERVISOR}, skills=False)
        if u.home_site_id == site.id or _cleared(u, site.id, at.date())
    ]
    for user in supervisors:
        if on_shift(user.shift_pattern, at, site.timezone):
            return user
    if supervisors:
        return supervisors[0]
    managers = with_role(session, anomaly.organization_id, MANAGERS, skills=False)
    return managers[0] if managers else None


def manager(session: Session, anomaly: Anomaly) -> User | None:
    managers = [
        u
        for u in with_role(session, anomaly.organization_id, {Role.MAINT_MANAGER}, skills=False)
        if u.home_site_id in (None, anomaly.site_id)
    ] or with_role(session, anomaly.organization_id, MANAGERS, skills=False)
    return managers[0] if managers else None


def audience(session: Session, anomaly: Anomaly, who: Audience, at: datetime) -> list[User]:
    site_id = anomaly.site_id
    if who is Audience.ON_DUTY_SUPERVISOR:
        user = on_duty_supervisor(session, anomaly, at)
        return [user] if user else []
    if who is Audience.TEAM_LEAD:
        supervisors = with_role(
            session, anomaly.organization_id, {Role.MAINT_SUPERVISOR}, skills=False
        )
        leads = [u for u in supervisors if u.home_site_id == site_id]
        return leads or audience(session, anomaly, Audience.ON_DUTY_SUPERVISOR, at)
    if who is Audience.RELEVANT_TECHNICIANS:
        skills = set((anomaly.enrichment or {}).get("required_skills", []))
        today = at.date()
        return [
            u
            for u in with_role(session, anomaly.organization_id, TECHNICIANS)
            if _cleared(u, site_id, today)
            and (not skills or skills & {us.skill.code for us in u.skills})
        ]
    if who is Audience.ASSIGNEE:
        user = session.get(User, anomaly.assignee_id) if anomaly.assignee_id else None
        return [user] if user else []
    if who is Audience.REPORTER:
        user = session.get(User, anomaly.reporter_id) if anomaly.reporter_id else None
        return [user] if user else []
    if who is Audience.MANAGER:
        user = manager(session, anomaly)
        return [user] if user else []
    if who is Audience.SENIOR_TECHNICIANS:
        return [
            u
            for u in with_role(session, anomaly.organization_id, REX_REVIEWERS)
            if _cleared(u, site_id, at.date()) or u.home_site_id == site_id
        ]
    raise ValueError(f"unknown audience {who}")
