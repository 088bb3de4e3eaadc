"""The messages of WorkOrderWorkflow: input, update requests and the live state. Kept
outside the workflow module so they load unsandboxed and their datetimes convert."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from activities.anomalies import Person
from domain.actor import Actor
from domain.rules.uploads import FileKey
from workflows.kit import Event


@dataclass
class WorkOrderSnapshot:
    """The work order as stored, loaded when the workflow starts."""

    number: str
    type: str
    status: str
    asset_id: int
    asset_number: str
    site_code: str
    title: str
    description: str
    estimated_cost: float
    requires_loto: bool
    requires_hot_work: bool
    requires_confined_space: bool
    requires_first_article: bool
    after_stop_work: bool
    safety_hold: bool
    tasks: list[dict[str, Any]] = field(default_factory=list)
    labor_hours: float = 0.0
    permits: list[dict[str, Any]] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    downtime_id: int | None = None
    last_step: int = 0
    pm_schedule_id: int | None = None  # a PM's schedule, told when the order ends


@dataclass
class WorkOrderInput:
    number: str
    organization_id: int
    snapshot: WorkOrderSnapshot  # the work order as stored when its lifecycle starts
    indexed: bool = True


@dataclass
class MoveRequest:
    actor: Actor
    reason: str = ""


@dataclass
class ScheduleRequest:
    actor: Actor
    assignee: Person | None = None
    scheduled_date: datetime | None = None
    shift: str | None = None


@dataclass
class VerifyRequest:
    actor: Actor
    checklist: dict[str, bool]
    test_run_passed: bool
    notes: str = ""


@dataclass
class FirstArticleRequest:
    actor: Actor
    passed: bool
    notes: str = ""


@dataclass
class ContentNotice:
    """Something the API stored on the work order (task, labour, permit, part, file),
    announced to the workflow with what its checks need to know."""

    actor: Actor
    kind: str  # TASK_ADDED, TASK_COMPLETED, LABOR, PERMIT_ISSUED, PERMIT_REMOVED, PART, FILE
    detail: dict[str, Any] = field(default_factory=dict)


# -- content of a work order, one typed update each; the workflow's activities write it --


@dataclass
class AddTaskRequest:
    actor: Actor
    description: str
    required: bool = True
    requires_measurement: bool = False
    unit: str | None = None
    spec_min: float | None = None
    spec_max: float | None = None


@dataclass
class EditTaskRequest:
    """A task as it is to be, before approval: every field given (a PUT); `new_sequence`
    moves it to a free place in the order."""

    actor: Actor
    sequence: int
    description: str
    required: bool = True
    requires_measurement: bool = False
    unit: str | None = None
    spec_min: float | None = None
    spec_max: float | None = None
    requires_photo: bool = False
    new_sequence: int | None = None
    reason: str = ""


@dataclass
class RemoveTaskRequest:
    actor: Actor
    sequence: int
    reason: str = ""


@dataclass
class CompleteTaskRequest:
    actor: Actor
    sequence: int
    measurement_value: float | None = None
    notes: str = ""


@dataclass
class LogLaborRequest:
    actor: Actor
    hours: float
    technician: str | None = None  # username; None: the actor
    labor_type: str = "REGULAR"
    hourly_rate: float | None = None  # None: the standard rate
    notes: str | None = None


@dataclass
class IssuePermitRequest:
    actor: Actor
    kind: str
    energy_sources: list[str] = field(default_factory=list)
    isolation_verified: bool = False
    lock_numbers: list[str] = field(default_factory=list)


@dataclass
class RemovePermitRequest:
    actor: Actor
    kind: str


@dataclass
class RequestPartsRequest:
    actor: Actor
    part_number: str
    quantity: float
    reserve: bool = True


@dataclass
class IssuePartRequest:
    actor: Actor
    part_number: str
    quantity: float
    serial_numbers: list[str] = field(default_factory=list)


@dataclass
class AttachFileRequest:
    actor: Actor
    kind: str  # an Evidence value
    file: FileKey
    description: str | None = None
    source: str | None = None


@dataclass
class UpdateDetailsRequest:
    actor: Actor
    changes: dict[str, Any]


@dataclass
class StopWorkRequest:
    actor: Actor
    reason: str
    cleared: bool = False
    # Set by a stop-work's own tell; a hold it placed is released only by such a tell.
    swa_id: int | None = None


# The timeline entry every lifecycle shares, under the work order's name.
WorkOrderEvent = Event


@dataclass
class WorkOrderState:
    number: str
    status: str
    type: str
    asset_number: str
    assignee: Person | None
    safety_hold: bool
    after_stop_work: bool
    blocks: dict[str, list[str]]  # next moves and what stands in their way
    approvals: dict[str, str]
    approvals_needed: list[str]
    return_to_service: str  # NOT_YET, BLOCKED, DONE
    message: str
    events: list[WorkOrderEvent]
    # The asset's move that goes with start or verify is still under way (it follows the
    # answer); every later move of this order waits for it.
    asset_moving: bool = False


@dataclass
class ContentState:
    """What a content update answers: the live state, and what was written (the task's
    verdict, the permit's number, the labour's cost, the attachment's id, the part)."""

    work_order: WorkOrderState
    result: dict[str, Any]
