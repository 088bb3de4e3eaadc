"""The messages of PMScheduleWorkflow. Kept outside the workflow module so they load
unsandboxed and their datetimes convert."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.actor import Actor
from workflows.kit import Event

# A schedule's workflow task may wait on a busy worker: when thousands of schedules fall
# due in the same minute their local steps queue for the activity threads, and the usual
# 10 s would time tasks out and have them run again.
TASK_TIMEOUT = timedelta(seconds=60)


@dataclass
class PMScheduleInput:
    schedule_id: int
    organization_id: int
    # Upsert search attributes; off only on a server where they cannot be registered.
    indexed: bool = True
    # How often an open work order is looked at (its CLOSED is read from its record).
    poll_seconds: int = 3600
    # Cycles run before continue-as-new keeps the history short.
    cycles_per_run: int = 12


@dataclass
class ScheduleFacts:
    """The schedule as its workflow reads it at the start of each run; the row is the
    record, the workflow its only writer once started."""

    schedule_id: int
    code: str
    name: str
    asset_id: int
    asset_number: str
    site_code: str
    schedule_type: str
    interval_days: int | None
    interval_hours: float | None  # the meter interval (hours, or cycles)
    interval_cycles: int | None
    anchor: str
    meter_type: str | None
    last_executed_at: datetime | None
    last_executed_wo: str | None
    last_meter_reading: float | None
    next_due_date: datetime | None
    next_due_meter: float | None
    meter_due_at: datetime | None
    alert_days_before: int
    alert_hours_before: float
    overdue_threshold_days: int
    overdue_action: str
    is_active: bool
    is_paused: bool
    paused_reason: str | None
    open_work_order: str | None
    overdue_told: dict[str, Any]
    blocked_at: datetime | None
    cycles: int
    last_step: int
    current_reading: float | None = None
    current_reading_at: datetime | None = None


@dataclass
class MeterReadingEvent:
    """A reading of the schedule's meter, signalled by the meter-reading endpoint."""

    reading: float
    recorded_at: datetime
    meter_type: str = "HOURS"


@dataclass
class EditRequest:
    actor: Actor
    changes: dict[str, Any]  # ScheduleEdit's fields that changed, datetimes as ISO text
    reason: str = ""


@dataclass
class PauseRequest:
    actor: Actor
    reason: str = ""


@dataclass
class SkipRequest:
    actor: Actor
    reason: str = ""


@dataclass
class DeferRequest:
    actor: Actor
    reason: str
    until: datetime


@dataclass
class ConditionRequest:
    """A condition on the asset (an SPC violation, a sensor rule) naming a CONDITION_BASED
    schedule; the door that received it checked its sender's permission."""

    actor: Actor
    source: str  # SPC or SENSOR
    detail: str


@dataclass
class CertificateRequest:
    """The asset's certificate expiry changed by hand: the certification schedule's due
    follows it (seed 003 C.1)."""

    actor: Actor
    next_due: datetime


@dataclass
class OpenPmRequest:
    schedule_id: int
    organization_id: int
    trigger: str  # TIME, METER or CONDITION (the last opens a draft for review)
    indexed: bool = True


@dataclass
class OpenedPm:
    number: str
    created: bool


@dataclass
class WorkOrderQuery:
    schedule_id: int
    number: str


@dataclass
class WorkOrderOutcome:
    status: str
    completed_at: datetime | None
    reading: float | None


@dataclass
class CancelPmRequest:
    number: str
    actor: Actor
    reason: str


@dataclass
class BlockRequest:
    schedule_id: int
    asset_id: int
    organization_id: int


@dataclass
class PMScheduleState:
    reference: str
    status: str  # WAITING, DUE, OPEN, OVERDUE, PAUSED, INACTIVE
    facts: ScheduleFacts | None = None
    days_overdue: int | None = None
    events: list[Event] = field(default_factory=list)
