"""PM schedules (seed 003 D.2, D.3): created from a template on an asset, found by id or
code, listed as due or overdue, and the reads and writes their workflow makes: the PM
work order opened in APPROVED from the template version in force, the outcome of that
work order, the readings of the asset's meter."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from domain.actor import Actor, system_actor
from domain.errors import Conflict, NotFound, RuleViolation
from domain.models import (
    Asset,
    Meter,
    MeterReading,
    PmSchedule,
    PmTemplate,
    Site,
    SparePart,
    User,
    WorkOrder,
)
from domain.rules import pm as rules
from domain.rules import work_orders as wo_rules
from domain.rules.alerts import Audience, Channel
from domain.rules.roles import Role
from domain.schemas.pm import ScheduleIn
from domain.services import parts as parts_service
from domain.services import pm_templates
from domain.services import work_orders as wo_service
from domain.services.audit import record_change
from domain.services.events import emit

ENTITY = "PM_SCHEDULE"
FINAL = [s.value for s in wo_rules.FINAL]
# What the workflow writes on its schedule (the rest is the API's, at creation).
WRITABLE = frozenset(
    {
        "schedule_type",
        "interval_days",
        "interval_hours",
        "interval_cycles",
        "anchor",
        "template_id",
        "last_executed_at",
        "last_executed_wo",
        "last_meter_reading",
        "next_due_date",
        "next_due_meter",
        "meter_due_at",
        "alert_days_before",
        "alert_hours_before",
        "overdue_threshold_days",
        "overdue_action",
        "is_paused",
        "paused_reason",
        "open_work_order",
        "overdue_told",
        "blocked_at",
        "cycles",
        "is_active",
    }
)
DATETIMES = frozenset({"last_executed_at", "next_due_date", "meter_due_at", "blocked_at"})
PERMIT_FLAGS = {
    "LOTO": "requires_loto",
    "HOT_WORK": "requires_hot_work",
    "CONFINED_SPACE": "requires_confined_space",
}
TECHNICIANS = {Role.MAINT_TECH, Role.FIELD_TECHNICIAN, Role.SENIOR_TECHNICIAN}


def reference(schedule_id: int) -> str:
    return f"PMS-{schedule_id}"


def schedule_id_of(ref: str) -> int | None:
    text = ref.upper().removeprefix("PMS-")
    return int(text) if text.isdigit() else None


def get_schedule(
    *, session: Session, organization_id: int, ref: str, lock: bool = False
) -> PmSchedule:
    """By id, PMS-<id> or code; another organisation's schedule is not found."""
    query = select(PmSchedule).where(PmSchedule.organization_id == organization_id)
    number = schedule_id_of(ref)
    query = query.where(PmSchedule.id == number if number else PmSchedule.code == ref.upper())
    if lock:
        query = query.with_for_update()
    found = session.scalars(query).one_or_none()
    if found is None:
        raise NotFound(f"PM schedule {ref} not found", field="id")
    return found


def load_locked(session: Session, organization_id: int, key: str) -> PmSchedule:
    return get_schedule(session=session, organization_id=organization_id, ref=key, lock=True)


def _meter(session: Session, asset: Asset, meter_type: str) -> Meter | None:
    return session.scalars(
        select(Meter).where(Meter.asset_id == asset.id, Meter.meter_type == meter_type)
    ).one_or_none()


def create_schedule(
    *, session: Session, actor: Actor, data: ScheduleIn, now: datetime | None = None
) -> PmSchedule:
    """One schedule per template and asset. Intervals default to the template's. The first
    due date: as given, else one interval after the last PM, else at once (a PM with no
    known last execution is due)."""
    now = now or datetime.now(UTC)
    org = actor.organization_id
    template = pm_templates.get_template(session=session, organization_id=org, ref=data.template)
    asset = wo_service.asset_by_number(session, org, data.asset)
    if asset.type_id != template.asset_type_id or (
        template.applicable_assets and asset.asset_number not in template.applicable_assets
    ):
        raise RuleViolation(
            f"template {template.code} does not apply to asset {asset.asset_number}", field="asset"
        )
    if not template.is_active:
        raise RuleViolation(f"template {template.code} is not active", field="template")
    kind = data.schedule_type or rules.ScheduleType(template.schedule_type)
    days = data.interval_days or template.interval_days
    hours = data.interval_hours or template.interval_hours
    cycles = data.interval_cycles or template.interval_cycles
    refusal = rules.interval_refusal(kind, days, hours, cycles)
    if refusal:
        raise RuleViolation(refusal.message, field=refusal.field)
    meter_type = None
    if kind in rules.USES_METER:
        meter_type = "HOURS" if hours else "CYCLES"
        if _meter(session, asset, meter_type) is None:
            raise RuleViolation(
                f"asset {asset.asset_number} has no {meter_type} meter for a {kind.value} schedule",
                field="schedule_type",
            )
    if session.scalar(
        select(PmSchedule.id).where(
            PmSchedule.asset_id == asset.id, PmSchedule.template_code == template.code
        )
    ):
        raise Conflict(
            f"{asset.asset_number} has a schedule for {template.code} already", field="template"
        )
    due = None
    if kind in rules.USES_CALENDAR:
        if data.next_due_date:
            due = data.next_due_date
        elif data.last_executed_at:
            due = data.last_executed_at + timedelta(days=days)
        else:
            due = now
    due_meter = None
    if kind in rules.USES_METER:
        due_meter = (data.last_meter_reading or 0.0) + rules.meter_interval(hours, cycles)
    row = PmSchedule(
        organization_id=org,
        asset_id=asset.id,
        template_code=template.code,
        name=template.name,
        code=f"{template.code}@{asset.asset_number}",
        template_id=template.id,
        schedule_type=kind.value,
        interval_days=days,
        interval_hours=hours,
        interval_cycles=cycles,
        anchor=data.anchor.value,
        meter_type=meter_type,
        last_executed_at=data.last_executed_at,
        last_meter_reading=data.last_meter_reading,
        next_due_date=due,
        next_due_meter=due_meter,
        alert_days_before=data.alert_days_before,
        alert_hours_before=data.alert_hours_before,
        overdue_threshold_days=data.overdue_threshold_days,
        overdue_action=data.overdue_action.value,
        overdue_told={},
        cycles=0,
        last_step=0,
    )
    session.add(row)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=reference(row.id),
        action="CREATED",
        before=None,
        after={
            "code": row.code,
            "template_version": template.version,
            "next_due_date": due.isoformat() if due else None,
            "next_due_meter": due_meter,
        },
        reason=row.name,
    )
    return row


def certification_schedule(
    *, session: Session, actor: Actor, asset: Asset
) -> tuple[PmSchedule | None, datetime | None]:
    """Seed 003 C.1: the asset's certification schedule, created when it first needs one;
    with the due its certificate's expiry now gives it, if that moved (its workflow is
    told). None for an asset that needs no certification or has no expiry yet."""
    if not asset.requires_certification or asset.certification_expiry is None:
        return None, None
    site = session.get(Site, asset.site_id)
    due = rules.certification_due(asset.certification_expiry, site.timezone)
    row = session.scalars(
        select(PmSchedule).where(
            PmSchedule.asset_id == asset.id, PmSchedule.template_code == rules.CERTIFICATION
        )
    ).one_or_none()
    if row is not None:
        if row.next_due_date == due:
            return row, None
        if row.last_step == 0:
            # Its lifecycle has decided nothing yet, and may not run at all (Temporal away
            # when it was made): the row holds the due, so a lifecycle started later reads it.
            before = row.next_due_date
            row.next_due_date = due
            record_change(
                session=session, actor=actor, entity_type=ENTITY, entity_id=reference(row.id),
                action="EDITED",
                before={"next_due_date": before.isoformat() if before else None},
                after={"next_due_date": due.isoformat()},
                reason=f"certificate now expires {asset.certification_expiry:%Y-%m-%d}",
            )  # fmt: skip
        return row, due
    row = PmSchedule(
        organization_id=asset.organization_id,
        asset_id=asset.id,
        template_code=rules.CERTIFICATION,
        name=f"Certification inspection of {asset.asset_number}",
        code=f"{rules.CERTIFICATION}@{asset.asset_number}",
        schedule_type=rules.ScheduleType.TIME_BASED.value,
        interval_days=rules.CERTIFICATION_INTERVAL_DAYS,
        anchor=rules.Anchor.FLOATING.value,
        next_due_date=due,
        alert_days_before=rules.CERTIFICATION_LEAD_DAYS,
        overdue_action=rules.OverdueAction.ESCALATE.value,
        overdue_told={},
        cycles=0,
        last_step=0,
    )
    session.add(row)
    session.flush()
    record_change(
        session=session,
        actor=actor,
        entity_type=ENTITY,
        entity_id=reference(row.id),
        action="CREATED",
        before=None,
        after={"code": row.code, "next_due_date": due.isoformat()},
        reason=f"{asset.asset_number} needs certification; its certificate expires "
        f"{asset.certification_expiry:%Y-%m-%d}",
    )
    return row, None


def _overdue(now: datetime):
    return and_(
        PmSchedule.is_active.is_(True),
        PmSchedule.is_paused.is_(False),
        or_(PmSchedule.next_due_date < now, PmSchedule.meter_due_at.is_not(None)),
    )


def _due(now: datetime):
    """Open (its work order out), or inside its lead time, or past its meter alert."""
    meter = (
        select(Meter.current_reading)
        .where(Meter.asset_id == PmSchedule.asset_id, Meter.meter_type == PmSchedule.meter_type)
        .scalar_subquery()
    )
    lead = func.make_interval(0, 0, 0, PmSchedule.alert_days_before)
    return and_(
        PmSchedule.is_active.is_(True),
        PmSchedule.is_paused.is_(False),
        or_(
            PmSchedule.open_work_order.is_not(None),
            PmSchedule.next_due_date - lead <= now,
            meter >= PmSchedule.next_due_meter - PmSchedule.alert_hours_before,
        ),
    )


def list_schedules(
    *,
    session: Session,
    organization_id: int,
    which: str = "all",
    site: str | None = None,
    asset: str | None = None,
    limit: int = 50,
    offset: int = 0,
    now: datetime | None = None,
) -> tuple[list[PmSchedule], int]:
    now = now or datetime.now(UTC)
    query = select(PmSchedule).where(PmSchedule.organization_id == organization_id)
    if site or asset:
        query = query.join(Asset, Asset.id == PmSchedule.asset_id)
    if site:
        query = query.join(Site, Site.id == Asset.site_id).where(Site.code == site.upper())
    if asset:
        query = query.where(Asset.asset_number == asset.upper())
    if which == "due":
        query = query.where(_due(now))
    elif which == "overdue":
        query = query.where(_overdue(now))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(PmSchedule.next_due_date.nulls_last(), PmSchedule.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), total


def to_out(session: Session, row: PmSchedule, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    asset = session.get(Asset, row.asset_id)
    template = session.get(PmTemplate, row.template_id) if row.template_id else None
    meter = _meter(session, asset, row.meter_type) if row.meter_type else None
    since = rules.overdue_since(due=row.next_due_date, meter_due_at=row.meter_due_at)
    return {
        "id": row.id,
        "reference": reference(row.id),
        "code": row.code,
        "name": row.name,
        "template": row.template_code,
        "template_version": template.version if template else None,
        "asset": asset.asset_number,
        **{
            c: getattr(row, c)
            for c in (
                "schedule_type",
                "interval_days",
                "interval_hours",
                "interval_cycles",
                "anchor",
                "meter_type",
                "last_executed_at",
                "last_executed_wo",
                "last_meter_reading",
                "next_due_date",
                "next_due_meter",
                "alert_days_before",
                "alert_hours_before",
                "overdue_threshold_days",
                "overdue_action",
                "is_active",
                "is_paused",
                "paused_reason",
                "open_work_order",
                "blocked_at",
                "cycles",
            )
        },
        "current_meter_reading": meter.current_reading if meter else None,
        "days_overdue": None if row.is_paused else rules.days_overdue(since, now),
    }


# -- what the workflow reads and writes --


@dataclass
class Opened:
    number: str
    created: bool


def _assignee(session: Session, asset: Asset, skills: list[str]) -> int | None:
    """The technician of the asset's site holding every skill the PM needs, with the fewest
    open work orders; none when nobody qualifies (the planner assigns)."""
    users = session.scalars(
        select(User)
        .where(User.organization_id == asset.organization_id, User.is_active)
        .order_by(User.id)
    ).all()
    fit = [
        u
        for u in users
        if any(r in TECHNICIANS for r in u.roles)
        and u.home_site_id in (None, asset.site_id)
        and set(skills) <= {s.skill.code for s in u.skills}
    ]
    if not fit:
        return None
    loads = dict(
        session.execute(
            select(WorkOrder.assigned_to_id, func.count())
            .where(
                WorkOrder.assigned_to_id.in_([u.id for u in fit]), WorkOrder.status.not_in(FINAL)
            )
            .group_by(WorkOrder.assigned_to_id)
        ).all()
    )
    return min(fit, key=lambda u: (loads.get(u.id, 0), u.id)).id


def open_work_order(
    *,
    session: Session,
    schedule_id: int,
    trigger: str,
    now: datetime | None = None,
    seen: Callable[[WorkOrder], None] | None = None,
) -> Opened:
    """BR-MAINT-001: the schedule's PM work order, in APPROVED (planned work needs no second
    approval; a condition's is a DRAFT for review), from the template version in force:
    tasks, permits, skills, parts reserved where stock allows. At most one open per
    schedule: an open one is returned as it is."""
    now = now or datetime.now(UTC)
    schedule = session.scalars(
        select(PmSchedule).where(PmSchedule.id == schedule_id).with_for_update()
    ).one()
    existing = session.scalars(
        select(WorkOrder).where(
            WorkOrder.pm_schedule_id == schedule_id, WorkOrder.status.not_in(FINAL)
        )
    ).first()
    if existing is not None:
        return Opened(existing.number, False)
    template = session.get(PmTemplate, schedule.template_id) if schedule.template_id else None
    asset = session.get(Asset, schedule.asset_id)
    platform = system_actor(schedule.organization_id, "PM schedule")
    permits = set(template.required_permits if template else [])
    tasks = [
        wo_service.NewTask(
            description=t["description"],
            required=t.get("is_required", True),
            requires_measurement=t.get("requires_measurement", False),
            unit=t.get("measurement_unit"),
            spec_min=rules.measurement_spec(t.get("measurement_spec"))[0],
            spec_max=rules.measurement_spec(t.get("measurement_spec"))[1],
            requires_photo=t.get("requires_photo", False),
        )
        for t in (template.tasks if template else [])
    ]
    due = schedule.next_due_date
    version = f"template {template.code} v{template.version}" if template else "no template"
    code = schedule.code or schedule.template_code
    lines = [f"Preventive maintenance {code} ({version}), opened by {trigger.lower()}."]
    if due:
        lines.append(f"Due {due:%Y-%m-%d %H:%M} UTC.")
    if schedule.next_due_meter is not None:
        lines.append(f"Due at {schedule.next_due_meter:g} {schedule.meter_type or 'HOURS'}.")
    if template and template.required_skills:
        lines.append("Skills: " + ", ".join(template.required_skills) + ".")
    if template and template.required_competencies:
        lines.append("Competencies: " + ", ".join(template.required_competencies) + ".")
    if template and template.safety_instructions:
        lines.append("Safety: " + template.safety_instructions)
    if template and template.procedure_url:
        lines.append("Procedure: " + template.procedure_url)
    certification = schedule.template_code == rules.CERTIFICATION
    if certification:
        lines = [
            f"Certification inspection of {asset.asset_number}, opened by {trigger.lower()}.",
            f"Certificate expires {asset.certification_expiry:%Y-%m-%d}."
            if asset.certification_expiry
            else "No certificate on record.",
        ]
    wo = wo_service.create(
        session=session,
        actor=platform,
        asset=asset,
        type=wo_rules.WoType.INSPECTION if certification else wo_rules.WoType.PM,
        priority=wo_rules.WoPriority.NORMAL,
        source=wo_rules.WoSource.PM_SCHEDULE,
        source_reference=reference(schedule.id),
        title=(schedule.name if certification else f"PM: {schedule.name}")[:200],
        description="\n".join(lines),
        estimated_hours=template.estimated_hours if template else None,
        requires_loto="LOTO" in permits,
        requires_hot_work="HOT_WORK" in permits,
        requires_confined_space="CONFINED_SPACE" in permits,
        tasks=tasks,
        now=now,
        number=provisional(schedule.id),
    )
    wo.pm_schedule_id = schedule.id
    wo.pm_template_id = template.id if template else None
    wo.scheduled_date = due
    wo.assigned_to_id = (
        _assignee(session, asset, list(template.required_skills)) if template else None
    )
    # A condition's work (SPC, sensor rule) is a draft for review; a due PM is approved.
    approved = trigger != "CONDITION"
    if approved:
        wo.status = wo_rules.WoStatus.APPROVED.value
        wo.status_changed_at = now
    for part in template.parts if template else []:
        if part.get("is_optional"):
            continue
        spare = session.scalars(
            select(SparePart)
            .where(
                SparePart.organization_id == schedule.organization_id,
                SparePart.part_number == part["part_number"],
            )
            .with_for_update()
        ).one_or_none()
        if spare is None:
            continue
        quantity = part.get("quantity_required", 1.0)
        # Reserved when in stock; else requested, and the planner sees the shortage.
        parts_service.request(
            session, platform, wo, spare, quantity, reserve=spare.quantity_available >= quantity
        )
    if approved:
        _approved(session, platform, wo, schedule, template)
    emit(
        session,
        schedule.organization_id,
        "pm.work_order_generated",
        "PM_SCHEDULE",
        reference(schedule.id),
        {"work_order": wo.number, "asset": asset.asset_number, "trigger": trigger},
        f"{wo.number}/pm-generated",
    )
    session.flush()
    if seen is not None:  # what the caller reads of the row, before the counter is taken
        seen(wo)
    return Opened(take_number(session, wo, now.year), True)


def _approved(
    session: Session,
    platform: Actor,
    wo: WorkOrder,
    schedule: PmSchedule,
    template: PmTemplate | None,
) -> None:
    record_change(
        session=session,
        actor=platform,
        entity_type=wo_service.ENTITY,
        entity_id=wo.number,
        action="APPROVED",
        before={"status": "DRAFT"},
        after={
            "status": "APPROVED",
            "pm_schedule": reference(schedule.id),
            "template_version": template.version if template else None,
        },
        reason="planned preventive work, approved by its schedule",
    )


def provisional(schedule_id: int) -> str:
    """The number a PM work order is written under until its real one is taken; only
    its own transaction ever sees it (one open per schedule, under the schedule's lock)."""
    return f"PM-{schedule_id}"


# The gapless counter stays locked from the moment a number is taken until commit, and
# every open at a due minute queues on it: so the number is taken last, in one statement
# that also renames what was written under the provisional one, and commit follows.
TAKE_NUMBER = text(
    """
    WITH n AS (
        INSERT INTO reference_counters (prefix, year, last) VALUES ('WO', :year, 1)
        ON CONFLICT (prefix, year) DO UPDATE SET last = reference_counters.last + 1
        RETURNING 'WO-' || year || '-' || lpad(last::text, greatest(5, length(last::text)), '0')
            AS number
    ), w AS (
        UPDATE work_orders SET number = n.number FROM n
        WHERE work_orders.id = :id RETURNING work_orders.number
    ), a AS (
        UPDATE audit_log SET entity_id = n.number FROM n
        WHERE audit_log.entity_type = :entity AND audit_log.entity_id = :temp
    ), e AS (
        UPDATE maintenance_events SET
            entity_id = CASE WHEN entity_id = :temp THEN n.number ELSE entity_id END,
            key = n.number || substr(key, length(:temp) + 1),
            payload = CASE WHEN payload ? 'work_order'
                THEN jsonb_set(payload, '{work_order}', to_jsonb(n.number)) ELSE payload END
        FROM n WHERE maintenance_events.key IN (:temp || '/created', :temp || '/pm-generated')
    ), i AS (
        UPDATE inventory_transactions SET reference_id = n.number FROM n
        WHERE reference_type = 'WORK_ORDER' AND reference_id = :temp
    )
    SELECT number FROM w
    """
)


def take_number(session: Session, wo: WorkOrder, year: int) -> str:
    """WO-YYYY-NNNNN (as `next_number` makes it) for a row written under its provisional
    number; the caller commits at once."""
    temp = wo.number
    number = session.execute(
        TAKE_NUMBER, {"year": year, "id": wo.id, "entity": wo_service.ENTITY, "temp": temp}
    ).scalar_one()
    set_committed_value(wo, "number", number)
    return number


@dataclass
class Outcome:
    status: str
    completed_at: datetime | None
    reading: float | None  # the schedule's meter at completion


def outcome(*, session: Session, schedule_id: int, number: str) -> Outcome:
    """Where the schedule's work order stands; once CLOSED, when the work was done and the
    meter then (the last reading at or before completion, else the current one)."""
    schedule = session.get(PmSchedule, schedule_id)
    wo = session.scalars(select(WorkOrder).where(WorkOrder.number == number)).one()
    done = wo.completed_at or wo.closed_at
    reading = None
    if schedule.meter_type:
        asset = session.get(Asset, schedule.asset_id)
        meter = _meter(session, asset, schedule.meter_type)
        if meter is not None:
            reading = meter.current_reading
            if done is not None:
                at = session.scalar(
                    select(MeterReading.reading)
                    .where(MeterReading.meter_id == meter.id, MeterReading.recorded_at <= done)
                    .order_by(MeterReading.recorded_at.desc(), MeterReading.id.desc())
                    .limit(1)
                )
                reading = at if at is not None else reading
    return Outcome(wo.status, done, reading)


def current_reading(session: Session, schedule: PmSchedule) -> float | None:
    if not schedule.meter_type:
        return None
    meter = _meter(session, session.get(Asset, schedule.asset_id), schedule.meter_type)
    return meter.current_reading if meter else None


def of_asset(
    *, session: Session, organization_id: int, asset_id: int, meter_type: str
) -> list[int]:
    """The active schedules a reading of this meter concerns."""
    return list(
        session.scalars(
            select(PmSchedule.id).where(
                PmSchedule.organization_id == organization_id,
                PmSchedule.asset_id == asset_id,
                PmSchedule.meter_type == meter_type,
                PmSchedule.is_active.is_(True),
            )
        )
    )


def _renew_certificate(session: Session, row: PmSchedule, asset: Asset, data: Any) -> None:
    """A certification inspection done renews the certificate to the next due (C.1)."""
    site = session.get(Site, asset.site_id)
    due = datetime.fromisoformat(data.changes["next_due_date"])
    before = asset.certification_expiry
    asset.certification_expiry = rules.renewed_expiry(due, site.timezone)
    record_change(
        session=session,
        actor=data.actor,
        entity_type="ASSET",
        entity_id=asset.asset_number,
        action="CERTIFIED",
        before={"certification_expiry": before.isoformat() if before else None},
        after={"certification_expiry": asset.certification_expiry.isoformat()},
        reason=f"certification inspection {data.changes.get('last_executed_wo')} closed",
    )


def alongside(session: Session, row: PmSchedule, data: Any) -> None:
    """What goes with a step: the asset's last maintenance date with a completed PM; the
    J.2 event dispatch listens to with a block."""
    extra = data.extra or {}
    if "asset_last_maintenance" in extra:
        asset = session.get(Asset, row.asset_id)
        asset.last_maintenance_at = datetime.fromisoformat(extra["asset_last_maintenance"])
        if row.template_code == rules.CERTIFICATION and data.changes.get("next_due_date"):
            _renew_certificate(session, row, asset, data)
    if data.action in ("PM_OVERDUE", "ASSET_BLOCKED", "PM_COMPLETED"):
        asset = session.get(Asset, row.asset_id)
        kind = {
            "PM_OVERDUE": "asset.pm_overdue",
            "ASSET_BLOCKED": "asset.pm_blocked",
            "PM_COMPLETED": "pm.completed",
        }[data.action]
        emit(
            session,
            row.organization_id,
            kind,
            "ASSET",
            asset.asset_number,
            {"schedule": reference(row.id), "code": row.code},
            f"{reference(row.id)}/{data.step}/{kind}",
        )


# -- notices: who hears of a PM, and what it says --


def notice(session: Session, organization_id: int, ref: str) -> PmSchedule:
    """The record a notice speaks of: the schedule, its asset alongside."""
    return get_schedule(session=session, organization_id=organization_id, ref=ref)


AUDIENCE_ROLES = {
    Audience.TEAM_LEAD: {Role.MAINT_SUPERVISOR, Role.MAINT_PLANNER},
    Audience.RELEVANT_TECHNICIANS: TECHNICIANS,
    Audience.MANAGER: {Role.MAINT_MANAGER},
    # Told of an SPC condition's work order beside the team (who hear of it as PM due).
    Audience.QUALITY: {Role.QUALITY, Role.MAINT_MANAGER},
}


def audience(session: Session, n: PmSchedule, who: Audience, now: datetime) -> list[User]:
    """The maintenance team (supervisors, planners, technicians) or the managers of the
    asset's site (or of every site)."""
    roles = {r.value for r in AUDIENCE_ROLES.get(who, set())}
    if not roles:
        return []
    users = session.scalars(
        select(User)
        .where(User.organization_id == n.asset.organization_id, User.is_active)
        .order_by(User.id)
    ).all()
    return [u for u in users if roles & set(u.roles) and u.home_site_id in (None, n.asset.site_id)]


TITLES = {
    "PM_DUE": "PM due",
    "PM_OVERDUE": "PM overdue",
    "PM_OVERDUE_ESCALATED": "PM overdue (escalated)",
    "PM_BLOCKED": "Asset blocked: PM overdue",
    "SPC_CONDITION": "SPC condition: PM work order drafted",
}


def render(
    event: str, channel: Channel, s: PmSchedule, user: User, context: dict[str, Any]
) -> tuple[str, str]:
    title = f"{TITLES.get(event, event)}: {s.name} on {s.asset.asset_number}"
    parts = [f"{s.code or s.template_code}"]
    if context.get("work_order"):
        parts.append(f"work order {context['work_order']}")
    if context.get("due"):
        parts.append(f"due {context['due'][:16].replace('T', ' ')} UTC")
    if context.get("condition"):
        parts.append(context["condition"])
    if context.get("days_overdue") is not None:
        parts.append(f"{context['days_overdue']} day(s) overdue")
    if event == "PM_BLOCKED":
        parts.append(rules.BLOCK_REASON)
    return title, "; ".join(parts)
