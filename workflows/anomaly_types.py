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


@dataclass
class SensorRuleEvent:
    """A sensor rule's change of state on the anomaly it opened (intake channel C2): sent by
    the ingest path at most once a minute, never per reading."""

    change: str  # BREACH (over the rule again) or NORMAL (back past the deadband)
    sensor: str
    rule: str  # the rule in words: "above 80 °C for at least 30 s"
    value: float | None = None
    at: datetime | None = None
    count: int = 0  # readings over the rule since the anomaly opened
    episodes: int = 0
    peak: float | None = None
    last_seen: datetime | None = None

    def detail(self) -> str:
        word = "back to normal" if self.change == "NORMAL" else "over the rule again"
        when = f" at {self.at.isoformat()}" if self.at else ""
        seen = self.last_seen.isoformat() if self.last_seen else "never"
        return (
            f"sensor {self.sensor} {word} ({self.rule}): {_number(self.value)}{when}; "
            f"{self.count} readings over in {self.episodes} breaches, "
            f"peak {_number(self.peak)}, "
            f"last over {seen}"
        )


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
