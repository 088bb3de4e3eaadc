"""Machines, lines, shift calendars, reason codes and the output recorded against them."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.actor import Actor
from domain.errors import NotFound, RuleViolation
from domain.models import Asset, Site, WorkOrder
from domain.models.production import (
    DowntimeReason,
    Machine,
    MachineProductCycle,
    PerformanceLog,
    ProductionCount,
    ProductionLine,
    QualityEvent,
    Shift,
    ShiftDayOff,
)
from domain.rules.downtime_reasons import DEFAULT_REASONS
from domain.rules.oee import Interval
from domain.rules.shifts import ShiftDef, ShiftWindow, shift_windows
from domain.schemas.oee import CountIn
from domain.services import assets as asset_service
from domain.services.audit import record_change

QUALITY_EVENT_TYPES = ("scrap", "rework", "reject")


# -- reason codes --


def ensure_reasons(*, session: Session, organization_id: int) -> None:
    """The default catalogue, once per organisation; codes already there are kept."""
    session.execute(
        insert(DowntimeReason)
        .values(
            [
                {
                    "organization_id": organization_id,
                    "code": r.code,
                    "category": r.category,
                    "description": r.description,
                    "is_planned": r.planned,
                    "color": r.color,
                    "sort_order": i,
                }
                for i, r in enumerate(DEFAULT_REASONS)
            ]
        )
        .on_conflict_do_nothing(index_elements=["organization_id", "code"])
    )


def list_reasons(*, session: Session, organization_id: int) -> list[DowntimeReason]:
    ensure_reasons(session=session, organization_id=organization_id)
    return list(
        session.scalars(
            select(DowntimeReason)
            .where(DowntimeReason.organization_id == organization_id)
            .order_by(DowntimeReason.sort_order, DowntimeReason.code)
        )
    )


def reason(*, session: Session, organization_id: int, code: str) -> DowntimeReason:
    ensure_reasons(session=session, organization_id=organization_id)
    row = session.scalars(
        select(DowntimeReason).where(
            DowntimeReason.organization_id == organization_id,
            DowntimeReason.code == code.upper(),
            DowntimeReason.is_active.is_(True),
        )
    ).one_or_none()
    if row is None:
        raise RuleViolation(
            f"reason_code: {code} is not an active reason code "
            "(see GET /api/v1/oee/downtime/reasons)",
            field="reason_code",
        )
    return row


def reason_categories(*, session: Session, organization_id: int) -> dict[str, str]:
    return dict(
        session.execute(
            select(DowntimeReason.code, DowntimeReason.category).where(
                DowntimeReason.organization_id == organization_id
            )
        ).all()
    )


# -- machines, lines, shifts --


def register_machine(
    *,
    session: Session,
    actor: Actor,
    asset: Asset,
    ideal_cycle_seconds: float,
    line: ProductionLine | None = None,
    oee_target_pct: float = 85.0,
) -> Machine:
    """Marks an asset as a producing machine (or updates the one it is)."""
    if ideal_cycle_seconds <= 0:
        raise RuleViolation("ideal_cycle_seconds: must be above 0", field="ideal_cycle_seconds")
    machine = session.scalars(select(Machine).where(Machine.asset_id == asset.id)).one_or_none()
    before = None
    if machine is None:
        machine = Machine(
            organization_id=asset.organization_id, asset_id=asset.id, site_id=asset.site_id,
            ideal_cycle_seconds=ideal_cycle_seconds,
        )  # fmt: skip
        session.add(machine)
    else:
        before = {"ideal_cycle_seconds": machine.ideal_cycle_seconds, "line_id": machine.line_id}
    machine.ideal_cycle_seconds = ideal_cycle_seconds
    machine.line_id = line.id if line else None
    machine.oee_target_pct = oee_target_pct
    machine.producing = True
    session.flush()
    record_change(
        session=session, actor=actor, entity_type="MACHINE", entity_id=asset.asset_number,
        action="MACHINE_CONFIGURED", before=before,
        after={"ideal_cycle_seconds": ideal_cycle_seconds, "line_id": machine.line_id},
        reason="producing machine configured",
    )  # fmt: skip
    return machine


def set_product_cycle(
    *, session: Session, machine: Machine, product_code: str, ideal_cycle_seconds: float
) -> None:
    session.execute(
        insert(MachineProductCycle)
        .values(
            organization_id=machine.organization_id,
            machine_id=machine.id,
            product_code=product_code.upper(),
            ideal_cycle_seconds=ideal_cycle_seconds,
        )  # fmt: skip
        .on_conflict_do_update(
            index_elements=["machine_id", "product_code"],
            set_={"ideal_cycle_seconds": ideal_cycle_seconds},
        )
    )


def add_line(*, session: Session, site: Site, code: str, name: str) -> ProductionLine:
    line = ProductionLine(
        organization_id=site.organization_id, site_id=site.id, code=code.upper(), name=name
    )
    session.add(line)
    session.flush()
    return line


def add_shift(
    *,
    session: Session,
    site: Site,
    code: str,
    starts_at: time,
    ends_at: time,
    weekdays: list[int] | None = None,
    planned_stops: list[tuple[time, time]] = (),
    oee_target_pct: float = 75.0,
) -> Shift:
    shift = Shift(
        organization_id=site.organization_id, site_id=site.id, code=code.upper(), name=code,
        starts_at=starts_at, ends_at=ends_at, weekdays=weekdays or [1, 2, 3, 4, 5, 6, 7],
        planned_stops=[[a.strftime("%H:%M"), b.strftime("%H:%M")] for a, b in planned_stops],
        oee_target_pct=oee_target_pct,
    )  # fmt: skip
    session.add(shift)
    session.flush()
    return shift


def _shift_def(s: Shift) -> ShiftDef:
    return ShiftDef(
        s.code, s.starts_at, s.ends_at, tuple(s.weekdays),
        tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in s.planned_stops),
    )  # fmt: skip


def site_shift_windows(*, session: Session, site: Site, period: Interval) -> list[ShiftWindow]:
    """Every shift of the site overlapping the period (a night shift begun the day before
    included), less the site's days off."""
    shifts = session.scalars(select(Shift).where(Shift.site_id == site.id)).all()
    if not shifts:
        return []
    zone = ZoneInfo(site.timezone)
    first = period.start.astimezone(zone).date() - timedelta(days=1)
    last = period.end.astimezone(zone).date()
    off = session.execute(
        select(ShiftDayOff.day, ShiftDayOff.shift_id).where(
            ShiftDayOff.site_id == site.id, ShiftDayOff.day.between(first, last)
        )
    ).all()
    code_of = {s.id: s.code for s in shifts}
    closed = {(d, code_of.get(sid)) for d, sid in off}
    windows = shift_windows([_shift_def(s) for s in shifts], site.timezone, first, last)
    return [
        w
        for w in windows
        if w.interval.clip(period) is not None
        and (w.day, None) not in closed
        and (w.day, w.code) not in closed
    ]


# -- machines as the API names them --


def machine_for(*, session: Session, actor: Actor, ref: str, write: bool = False) -> Machine:
    """The machine an asset number names, in the caller's organisation (an operator writes
    for its own work centre only)."""
    if write:
        asset = asset_service.asset_for_write(session=session, actor=actor, ref=ref)
    else:
        asset = session.scalars(
            select(Asset).where(
                Asset.organization_id == actor.organization_id, Asset.asset_number == ref.upper()
            )
        ).one_or_none()
        if asset is None:
            raise NotFound(f"machine {ref} not found", field="machine")
    machine = session.scalars(select(Machine).where(Machine.asset_id == asset.id)).one_or_none()
    if machine is None or not machine.producing:
        raise NotFound(f"machine {ref} not found: the asset is not a producing machine",
                       field="machine")  # fmt: skip
    return machine


def ideal_cycle(*, session: Session, machine: Machine, product_code: str | None) -> float:
    if product_code:
        own = session.scalar(
            select(MachineProductCycle.ideal_cycle_seconds).where(
                MachineProductCycle.machine_id == machine.id,
                MachineProductCycle.product_code == product_code.upper(),
            )
        )
        if own is not None:
            return own
    return machine.ideal_cycle_seconds


def work_order_for(*, session: Session, actor: Actor, number: str) -> WorkOrder:
    wo = session.scalars(
        select(WorkOrder).where(
            WorkOrder.organization_id == actor.organization_id, WorkOrder.number == number.upper()
        )
    ).one_or_none()
    if wo is None:
        raise NotFound(f"work order {number} not found", field="work_order")
    return wo


def runs_on(work_order: WorkOrder | None, machine: Machine) -> None:
    """Output, scrap and stops booked to a work order land on the machine it runs on."""
    if work_order is not None and work_order.asset_id != machine.asset_id:
        raise RuleViolation("work_order: runs on another machine", field="work_order")


# -- output --


def record_output(
    *, session: Session, actor: Actor, data: CountIn
) -> tuple[ProductionCount, bool, str, WorkOrder | None]:
    """A run's output as the API and the operator's page give it: by machine, or by the
    work order whose asset is the machine. (row, created, machine number, work order)."""
    work_order = None
    if data.work_order:
        work_order = work_order_for(session=session, actor=actor, number=data.work_order)
    ref = data.machine or (
        session.get(Asset, work_order.asset_id).asset_number if work_order else None
    )
    if ref is None:
        raise RuleViolation("machine: give the machine or the work order", field="machine")
    machine = machine_for(session=session, actor=actor, ref=ref, write=True)
    row, created = record_count(
        session=session, actor=actor, machine=machine, period_start=data.period_start,
        period_end=data.period_end, total=data.total, good=data.good, reject=data.reject,
        rework=data.rework, startup_reject=data.startup_reject, product_code=data.product_code,
        work_order=work_order, entry_key=data.entry_key,
    )  # fmt: skip
    return row, created, ref.upper(), work_order


def record_count(
    *,
    session: Session,
    actor: Actor,
    machine: Machine,
    period_start: datetime,
    period_end: datetime,
    total: int,
    good: int,
    reject: int | None = None,
    rework: int = 0,
    startup_reject: int = 0,
    product_code: str | None = None,
    work_order: WorkOrder | None = None,
    entry_key: str | None = None,
    now: datetime | None = None,
) -> tuple[ProductionCount, bool]:
    """Output of one machine over one period; (row, created). Every piece made is good,
    rejected or reworked: a reject not given is what the other two leave. The same
    entry_key again returns the first row and writes nothing."""
    if entry_key:
        existing = session.scalars(
            select(ProductionCount).where(
                ProductionCount.organization_id == machine.organization_id,
                ProductionCount.entry_key == entry_key,
            )
        ).one_or_none()
        if existing is not None:
            return existing, False
    if period_end <= period_start:
        raise RuleViolation("period_end: must be after period_start", field="period_end")
    now = now or datetime.now(UTC)
    if period_end > now + timedelta(minutes=5):
        raise RuleViolation("period_end: output cannot be recorded ahead of time",
                            field="period_end")  # fmt: skip
    if good > total:
        raise RuleViolation("good: cannot be more than total", field="good")
    if reject is None:
        reject = total - good - rework
    if reject < 0 or good + reject + rework != total:
        raise RuleViolation("reject: good + reject + rework must equal total", field="reject")
    if startup_reject > reject:
        raise RuleViolation("startup_reject: cannot be more than reject", field="startup_reject")
    runs_on(work_order, machine)
    row = ProductionCount(
        organization_id=machine.organization_id, machine_id=machine.id,
        work_order_id=work_order.id if work_order else None,
        product_code=product_code.upper() if product_code else None,
        period_start=period_start, period_end=period_end, total=total, good=good,
        reject=reject, rework=rework, startup_reject=startup_reject,
        ideal_cycle_seconds=ideal_cycle(session=session, machine=machine,
                                        product_code=product_code),
        entry_key=entry_key, recorded_by=actor.full_name, recorded_at=now,
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_change(
        session=session, actor=actor, entity_type="PRODUCTION_COUNT", entity_id=str(row.id),
        action="OUTPUT_RECORDED", before=None,
        after={"machine_id": machine.id, "period_start": period_start.isoformat(),
               "period_end": period_end.isoformat(), "total": total, "good": good,
               "reject": reject, "rework": rework,
               "work_order": work_order.number if work_order else None},
        reason="output recorded",
    )  # fmt: skip
    return row, True


def record_performance_log(
    *,
    session: Session,
    actor: Actor,
    machine: Machine,
    logged_at: datetime,
    actual_cycle_seconds: float,
    units: int,
    target_cycle_seconds: float | None = None,
    work_order: WorkOrder | None = None,
) -> PerformanceLog:
    """Observed cycle times, against the machine's ideal cycle unless a target is given."""
    runs_on(work_order, machine)
    row = PerformanceLog(
        organization_id=machine.organization_id, machine_id=machine.id,
        work_order_id=work_order.id if work_order else None, logged_at=logged_at,
        actual_cycle_seconds=actual_cycle_seconds,
        target_cycle_seconds=target_cycle_seconds or machine.ideal_cycle_seconds, units=units,
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_change(
        session=session, actor=actor, entity_type="PERFORMANCE_LOG", entity_id=str(row.id),
        action="PERFORMANCE_LOGGED", before=None,
        after={"machine_id": machine.id, "actual_cycle_seconds": actual_cycle_seconds,
               "target_cycle_seconds": row.target_cycle_seconds, "units": units},
        reason=f"{units} units at {actual_cycle_seconds:g} s",
    )  # fmt: skip
    return row


def performance_logs(
    *, session: Session, machine: Machine, start: datetime, end: datetime, limit: int = 500
) -> list[PerformanceLog]:
    return list(
        session.scalars(
            select(PerformanceLog)
            .where(
                PerformanceLog.machine_id == machine.id,
                PerformanceLog.logged_at >= start,
                PerformanceLog.logged_at < end,
            )
            .order_by(PerformanceLog.logged_at)
            .limit(limit)
        )
    )


def record_quality_event(
    *,
    session: Session,
    actor: Actor,
    machine: Machine,
    event_type: str,
    quantity: int,
    occurred_at: datetime,
    defect_type: str | None = None,
    notes: str | None = None,
    work_order: WorkOrder | None = None,
) -> QualityEvent:
    if event_type not in QUALITY_EVENT_TYPES:
        raise RuleViolation(f"event_type: one of {', '.join(QUALITY_EVENT_TYPES)}",
                            field="event_type")  # fmt: skip
    runs_on(work_order, machine)
    row = QualityEvent(
        organization_id=machine.organization_id, machine_id=machine.id,
        work_order_id=work_order.id if work_order else None, event_type=event_type,
        occurred_at=occurred_at, quantity=quantity, defect_type=defect_type, notes=notes,
        logged_by=actor.full_name,
    )  # fmt: skip
    session.add(row)
    session.flush()
    record_change(
        session=session, actor=actor, entity_type="QUALITY_EVENT", entity_id=str(row.id),
        action="QUALITY_EVENT_RECORDED", before=None,
        after={"machine_id": machine.id, "event_type": event_type, "quantity": quantity},
        reason=notes or event_type,
    )  # fmt: skip
    return row


def day_off(*, session: Session, site: Site, day: date, reason: str, shift: Shift | None = None):
    session.add(ShiftDayOff(organization_id=site.organization_id, site_id=site.id, day=day,
                            shift_id=shift.id if shift else None, reason=reason))  # fmt: skip
    session.flush()
