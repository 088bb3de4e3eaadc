"""Preventive maintenance rules (seed 003 D.1-D.3, seed 004 BR-MAINT-001/002): when a
schedule is next due, when its work order opens (the lead time), and what an overdue PM
sets off. Plain functions over plain data; no clock is read here, the caller passes `now`."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.rules.roles import Role


class ScheduleType(StrEnum):
    TIME_BASED = "TIME_BASED"
    METER_BASED = "METER_BASED"
    HYBRID = "HYBRID"  # time or meter, whichever comes first
    CONDITION_BASED = "CONDITION_BASED"  # opened by a condition (SPC, sensor rule), no clock


class OverdueAction(StrEnum):
    ALERT = "ALERT"  # the team at once, the manager once a week overdue
    ESCALATE = "ESCALATE"  # team and manager at once, repeated daily
    BLOCK = "BLOCK"  # as ESCALATE, and the asset out of service past the threshold


class Anchor(StrEnum):
    FLOATING = "FLOATING"  # next due counted from the completion (the default)
    FIXED = "FIXED"  # next due kept on the calendar, counted from the due date


USES_CALENDAR = {ScheduleType.TIME_BASED, ScheduleType.HYBRID}
USES_METER = {ScheduleType.METER_BASED, ScheduleType.HYBRID}
BLOCK_REASON = "PM overdue - blocked per policy"
# Seed 003 C.1: an asset that needs certification has one schedule, under this template
# code, due when its certificate expires; it opens INSPECTION work orders, and its
# completion renews the certificate for a year.
CERTIFICATION = "CERTIFICATION"
CERTIFICATION_LEAD_DAYS = 30
CERTIFICATION_INTERVAL_DAYS = 365
# L.1 scenario 2: under ALERT the manager hears of it once the PM is a week overdue.
MANAGER_AFTER_DAYS = 7
# Who may skip or defer a due PM (BR-MAINT-002 leaves it to supervision).
SUPERVISORS = {Role.MAINT_SUPERVISOR, Role.MAINT_MANAGER, Role.MAINT_ADMIN}
DEFAULT_ALERT_DAYS = 7
DEFAULT_ALERT_HOURS = 50.0
DEFAULT_OVERDUE_DAYS = 14


@dataclass(frozen=True)
class Refusal:
    kind: str
    message: str
    field: str | None = None


@dataclass(frozen=True)
class Interval:
    schedule_type: ScheduleType
    days: int | None = None
    hours: float | None = None  # meter units (hours, or cycles for a cycle meter)
    anchor: Anchor = Anchor.FLOATING


def interval_refusal(
    schedule_type: str, days: int | None, hours: float | None, cycles: int | None = None
) -> Refusal | None:
    """A schedule's intervals must fit its type: days for the calendar, hours or cycles
    for the meter, both for a hybrid."""
    try:
        kind = ScheduleType(schedule_type)
    except ValueError:
        names = ", ".join(t.value for t in ScheduleType)
        return Refusal("RuleViolation", f"schedule_type must be one of {names}", "schedule_type")
    for name, value in (
        ("interval_days", days),
        ("interval_hours", hours),
        ("interval_cycles", cycles),
    ):
        if value is not None and value <= 0:
            return Refusal("RuleViolation", f"{name} must be greater than 0", name)
    if kind in USES_CALENDAR and not days:
        return Refusal(
            "RuleViolation", f"a {kind.value} schedule needs interval_days", "interval_days"
        )
    if kind in USES_METER and not (hours or cycles):
        return Refusal(
            "RuleViolation",
            f"a {kind.value} schedule needs interval_hours or interval_cycles",
            "interval_hours",
        )
    return None


def meter_interval(hours: float | None, cycles: int | None) -> float | None:
    return hours if hours else (float(cycles) if cycles else None)


# -- when next due (BR-MAINT-002) --


def next_due_date(
    interval: Interval, *, completed_at: datetime, last_due: datetime | None
) -> datetime | None:
    """The next calendar due date after a PM done at `completed_at`. Floating: one interval
    after the completion. Fixed: the calendar kept, the first due date after the completion
    counted in whole intervals from the last due date (a late PM does not shift the plan, a
    very late one does not leave a due date already past)."""
    if interval.schedule_type not in USES_CALENDAR or not interval.days:
        return None
    step = timedelta(days=interval.days)
    if interval.anchor is Anchor.FLOATING or last_due is None:
        return completed_at + step
    due = last_due + step
    while due <= completed_at:
        due += step
    return due


def next_due_meter(interval: Interval, *, reading_at_completion: float | None) -> float | None:
    """Meter-based: the reading at completion plus one interval."""
    if interval.schedule_type not in USES_METER or not interval.hours:
        return None
    return (reading_at_completion or 0.0) + interval.hours


def skipped_due(
    interval: Interval, *, due: datetime | None, due_meter: float | None
) -> tuple[datetime | None, float | None]:
    """A skipped PM: the next occurrence counted from the one skipped, not from today."""
    date = due + timedelta(days=interval.days) if due and interval.days else None
    meter = due_meter + interval.hours if due_meter is not None and interval.hours else None
    return date, meter


# -- when the work order opens (BR-MAINT-001: lead time) --


def opens_at(due: datetime | None, alert_days_before: int) -> datetime | None:
    """When the calendar opens the work order: the due date less the lead time."""
    return None if due is None else due - timedelta(days=alert_days_before)


def meter_reached(reading: float | None, due_meter: float | None, alert_hours: float) -> bool:
    """The meter opens the work order once within `alert_hours` of the due reading."""
    return reading is not None and due_meter is not None and reading >= due_meter - alert_hours


def is_due(
    schedule_type: ScheduleType,
    *,
    now: datetime,
    due: datetime | None,
    due_meter: float | None,
    reading: float | None,
    alert_days_before: int,
    alert_hours_before: float,
) -> bool:
    """Time, meter or whichever first (hybrid); a condition-based PM is never due by clock."""
    if schedule_type in USES_CALENDAR:
        at = opens_at(due, alert_days_before)
        if at is not None and now >= at:
            return True
    if schedule_type in USES_METER:
        return meter_reached(reading, due_meter, alert_hours_before)
    return False


def which_first(
    *, now: datetime, due: datetime | None, due_meter: float | None, reading: float | None
) -> str:
    """A hybrid's winner, for the record: METER when the meter is at or past due before the
    calendar date, else TIME."""
    if reading is not None and due_meter is not None and reading >= due_meter:
        if due is None or now < due:
            return "METER"
    return "TIME"


# -- overdue --


def overdue_since(*, due: datetime | None, meter_due_at: datetime | None) -> datetime | None:
    """Overdue starts at the due date, or when the meter reached its due reading, whichever
    came first."""
    found = [d for d in (due, meter_due_at) if d is not None]
    return min(found) if found else None


def days_overdue(since: datetime | None, now: datetime) -> int | None:
    """Whole days past due, 0 on the due day itself; None when not (yet) overdue."""
    if since is None or now < since:
        return None
    return (now - since).days


@dataclass(frozen=True)
class OverdueStep:
    tell_team: bool = False
    tell_manager: bool = False
    block: bool = False

    @property
    def anything(self) -> bool:
        return self.tell_team or self.tell_manager or self.block


def overdue_step(
    action: OverdueAction,
    days: int,
    *,
    threshold_days: int,
    team_told: bool,
    manager_told: bool,
    told_today: bool,
    blocked: bool,
) -> OverdueStep:
    """What an overdue PM sets off on its `days`-th overdue day (L.1 scenario 2).
    ALERT: the team once, at once; the manager once, at 7 days. ESCALATE: both, daily.
    BLOCK: both, daily, and the asset out of service once past the threshold."""
    if action is OverdueAction.ALERT:
        return OverdueStep(
            tell_team=not team_told,
            tell_manager=not manager_told and days >= MANAGER_AFTER_DAYS,
        )
    daily = not told_today
    block = action is OverdueAction.BLOCK and not blocked and days > threshold_days
    return OverdueStep(tell_team=daily, tell_manager=daily, block=block)


def next_overdue_check(
    action: OverdueAction,
    since: datetime,
    days: int,
    *,
    threshold_days: int,
    manager_told: bool,
) -> datetime | None:
    """When the overdue PM next needs looking at: the next day for ESCALATE and BLOCK,
    the 7th day for ALERT until the manager is told, then never."""
    if action is OverdueAction.ALERT:
        if manager_told:
            return None
        return since + timedelta(days=max(MANAGER_AFTER_DAYS, days + 1))
    return since + timedelta(days=days + 1)


def skip_refusal(roles: list[str] | tuple[str, ...], reason: str) -> Refusal | None:
    """Skipping or deferring a due PM needs a supervisor and a reason."""
    if not any(r in SUPERVISORS for r in roles):
        names = ", ".join(sorted(r.value for r in SUPERVISORS))
        return Refusal("NotAllowed", f"skipping or deferring a PM needs one of {names}")
    if len((reason or "").strip()) < 3:
        return Refusal("RuleViolation", "skipping or deferring a PM needs a reason", "reason")
    return None


def measurement_spec(spec: str | None) -> tuple[float | None, float | None]:
    """ "1.5-2.0 mm" as (1.5, 2.0); anything else carries no limits."""
    if not spec:
        return None, None
    text = spec.strip().split()[0] if spec.strip() else ""
    low, sep, high = text.partition("-")
    try:
        return (float(low), float(high)) if sep else (None, None)
    except ValueError:
        return None, None


def certification_due(expiry: date, timezone: str) -> datetime:
    """The inspection is due before the certificate lapses: the start of its expiry day,
    in the site's time."""
    return datetime.combine(expiry, time(), ZoneInfo(timezone)).astimezone(UTC)


def renewed_expiry(next_due: datetime, timezone: str) -> date:
    """The certificate a completed inspection renews runs to the next due, site time."""
    return next_due.astimezone(ZoneInfo(timezone)).date()
