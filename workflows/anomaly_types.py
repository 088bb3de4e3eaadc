"""The messages of AnomalyWorkflow: its input, the update requests and the live state.

Kept outside the workflow module so they load unsandboxed and their datetimes convert."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from activities.anomalies import Person
from domain.actor import Actor
from workflows.kit import Event  # the timeline entry every lifecycle shares


@dataclass
class AnomalyInput:
    reference: str
    organization_id: int
    voice_after_seconds: float = 300
    # The first voice-call and escalation watches were started at registration, beside this
    # workflow on the alert queue, and report to it by signal.
    watches: bool = False
    # Upsert search attributes; off only where they cannot be registered (time-skipping server).
    indexed: bool = True


@dataclass
class AcknowledgeRequest:
    actor: Actor


@dataclass
class AcceptRequest:
    actor: Actor
    eta: datetime
    safety_acknowledged: bool


@dataclass
class DeclineRequest:
    actor: Actor
    reason: str


@dataclass
class ReassignRequest:
    actor: Actor
    reason: str
    assignee: Person | None = None  # None: the supervisor or manager takes it


@dataclass
class ProgressRequest:
    actor: Actor
    note: str
    loto_acknowledged: bool = False
    parts_used: list[dict[str, Any]] = field(default_factory=list)
    test_results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AttachRequest:
    actor: Actor
    attachment_id: int
    kind: str
    filename: str


@dataclass
class ResolveRequest:
    actor: Actor
    root_cause: str
    corrective_action: str
    verification_test: str
    safety_restored: bool


@dataclass
class ReviewRequest:
    actor: Actor
    approve: bool
    feedback: str = ""


@dataclass
class SubmitRexRequest:
    actor: Actor
    root_cause_analysis: str
    lessons_learned: str
    preventive_actions: str
    best_practices: str
    training_needs: str


@dataclass
class OverrideCriticalityRequest:
    actor: Actor
    level: str
    reason: str


@dataclass
class AnomalyState:
    reference: str
    status: str
    criticality: str | None
    score: int | None
    reasons: list[str]
    flag: str | None
    flashing: bool
    alert_acknowledged: bool
    voice_called: bool
    assignee: Person | None
    escalation_level: str
    escalated: bool
    deadline: datetime | None
    eta: datetime | None
    progress_notes: int
    attachment_kinds: list[str]
    loto_acknowledged: bool
    missing_for_resolution: list[str]
    review_rounds: int
    review_rejections: int
    rex_version: int
    feedback: str | None
    events: list[Event]
