"""The messages of WorkOrderWorkflow: input, update requests and the live state. Kept
outside the workflow module so they load unsandboxed and their datetimes convert."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from activities.anomalies import Person
from domain.actor import Actor
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


@dataclass
class StopWorkRequest:
    actor: Actor
    reason: str
    cleared: bool = False


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
