"""Activities of the anomaly lifecycle: each reads or writes the database for one
workflow decision, idempotent by the workflow's step number."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from activities.channels import Channels
from activities.messages import render

# The notifier's messages, under the names the anomaly lifecycle has always used.
from activities.notifier import DigestInput, NotifyInput, NotifyOutput, Send, Subject
from activities.steps import StepInput, StepTarget, record
from domain.actor import Actor
from domain.db import transaction
from domain.models import Anomaly, AnomalyAttachment, Site, User
from domain.rules.anomaly_lifecycle import EscalationLevel
from domain.rules.assignment import rank
from domain.rules.criticality import (
    Level,
    response_deadline,
)
from domain.services import anomalies as anomaly_service
from domain.services import kpis as kpi_service
from domain.services import people
from domain.settings import Settings

__all__ = ["DigestInput", "NotifyInput", "NotifyOutput", "Send"]

DATETIME_FIELDS = {
    "response_deadline",
    "alert_acknowledged_at",
    "eta",
    "accepted_at",
    "resolved_at",
    "approved_at",
    "closed_at",
}


@dataclass
class Person:
    user_id: int
    username: str
    full_name: str


@dataclass
class AssessInput:
    reference: str
    organization_id: int
    step: int


@dataclass
class AssessOutput:
    level: str
    score: int
    reasons: list[str]
    deadline: datetime
    response_seconds: float
    site_code: str
    asset_number: str
    title: str
    safety_protocols: list[str]
    reporter: Person | None
    # Photos stored with the report itself (kinds): they count as the work's evidence.
    # Histories recorded before it decode to none.
    attachment_kinds: list[str] = field(default_factory=list)


@dataclass
class ClockInput:
    reference: str
    organization_id: int
    level: str
    start: datetime


@dataclass
class AssignInput:
    reference: str
    organization_id: int
    step: int
    exclude: list[int] = field(default_factory=list)


@dataclass
class AssignOutput:
    person: Person | None
    score: float
    explanation: list[str]


@dataclass
class TargetInput:
    reference: str
    organization_id: int
    level: str


@dataclass
class WatchCheck:
    reference: str
    organization_id: int
    kind: str  # VOICE or ESCALATION
    deadline: datetime | None = None  # ESCALATION: the response deadline being enforced


@dataclass
class RecordInput:
    reference: str
    organization_id: int
    step: int
    action: str
    changes: dict[str, Any]
    actor: Actor
    reason: str | None = None
    rex: dict[str, str] | None = None  # a submitted REX to store
    rex_review: bool | None = None  # a REX decision to store: approved or not


@dataclass
class KpiInput:
    organization_id: int
    site_code: str


def watch_still_due(anomaly: Anomaly, kind: str, deadline: datetime | None) -> bool:
    """A safety watch's last look before it alerts: an acknowledgement, an acceptance or a
    new holder committed before now wins over the watch (VOICE or ESCALATION)."""
    if anomaly.status == "CLOSED":
        return False
    if kind == "VOICE":
        return anomaly.alert_acknowledged_at is None
    written = anomaly.response_deadline
    if anomaly.status == "REGISTERED":
        # Not even assigned by the deadline (its lifecycle is behind a burst): nobody
        # accepted, so the escalation is due all the same; the lifecycle writes it when it
        # catches up. Before its assessment no deadline is written yet.
        written = written or deadline
    elif anomaly.status not in ("ASSIGNED", "ESCALATED"):
        return False
    return (
        written is not None
        and deadline is not None
        and abs((written - deadline).total_seconds()) < 1
    )


def escalation_person(session: Session, anomaly: Anomaly, level: EscalationLevel) -> Person | None:
    """Who an escalation to `level` hands the anomaly to: the on-duty supervisor, then the
    manager."""
    if level is EscalationLevel.SUPERVISOR:
        return _person(people.on_duty_supervisor(session, anomaly, datetime.now(UTC)))
    return _person(people.manager(session, anomaly))


def _person(user: User | None) -> Person | None:
    return Person(user.id, user.username, user.full_name) if user else None


class AnomalyActivities:
    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, channels: Channels | None = None
    ) -> None:
        self.sessions = sessions
        self.settings = settings

    @activity.defn
    def assess_anomaly(self, data: AssessInput) -> AssessOutput:
        with transaction(self.sessions) as session:
            anomaly = anomaly_service.get_anomaly(
                session=session, organization_id=data.organization_id, reference=data.reference
            )
            result, deadline = anomaly_service.criticality(
                session, anomaly, self.settings.response_times()
            )
            anomaly_service.apply_step(
                session=session,
                reference=data.reference,
                organization_id=data.organization_id,
                step=data.step,
                action="CRITICALITY_ASSESSED",
                changes={
                    "criticality": result.level.value,
                    "criticality_score": result.score,
                    "criticality_reasons": result.reasons,
                    "response_deadline": deadline,
                },
                actor=Actor(None, "assessment", "plantops assessment", data.organization_id, ()),
                reason=result.reasons[-1],
            )
            e = anomaly.enrichment
            reporter = session.get(User, anomaly.reporter_id) if anomaly.reporter_id else None
            return AssessOutput(
                result.level.value,
                result.score,
                result.reasons,
                deadline,
                (deadline - anomaly.registered_at).total_seconds(),
                e["site_code"],
                e["asset_number"],
                anomaly.title,
                list(e.get("safety_protocols", [])),
                _person(reporter),
                list(
                    session.scalars(select(AnomalyAttachment.kind).filter_by(anomaly_id=anomaly.id))
                ),
            )

    @activity.defn
    def response_clock(self, data: ClockInput) -> float:
        """Seconds the holder has to accept at this level, counted from start: the window
        lives in the settings and, for G4, in the site's time zone."""
        with self.sessions() as session:
            anomaly = anomaly_service.get_anomaly(
                session=session, organization_id=data.organization_id, reference=data.reference
            )
            site = session.get(Site, anomaly.site_id)
            deadline = response_deadline(
                Level(data.level), data.start, site.timezone, self.settings.response_times()
            )
            return (deadline - data.start).total_seconds()

    @activity.defn
    def pick_technician(self, data: AssignInput) -> AssignOutput:
        """The best-scored technician, not yet written: the workflow records the choice."""
        with self.sessions() as session:
            anomaly = anomaly_service.get_anomaly(
                session=session, organization_id=data.organization_id, reference=data.reference
            )
            found = [
                c
                for c in people.candidates(session, anomaly, datetime.now(UTC))
                if c.user_id not in data.exclude
            ]
            ranked = rank(found, list(anomaly.enrichment.get("required_skills", [])))
            if not ranked:
                return AssignOutput(None, 0.0, ["no cleared technician available"])
            best = ranked[0]
            c = best.candidate
            runner_up = (
                [f"next best: {ranked[1].candidate.full_name} at {ranked[1].score}"]
                if len(ranked) > 1
                else []
            )
            return AssignOutput(
                Person(c.user_id, c.username, c.full_name),
                best.score,
                [f"{c.full_name} scores {best.score} of 100", *best.explanation, *runner_up],
            )

    @activity.defn
    def escalation_target(self, data: TargetInput) -> Person | None:
        with self.sessions() as session:
            anomaly = anomaly_service.get_anomaly(
                session=session, organization_id=data.organization_id, reference=data.reference
            )
            return escalation_person(session, anomaly, EscalationLevel(data.level))

    @activity.defn
    def watch_still_due(self, data: WatchCheck) -> bool:
        """A safety watch's last look before it alerts: an acknowledgement, an acceptance or
        a new holder committed before now wins over the watch."""
        with self.sessions() as session:
            anomaly = anomaly_service.get_anomaly(
                session=session, organization_id=data.organization_id, reference=data.reference
            )
            return watch_still_due(anomaly, data.kind, data.deadline)

    @activity.defn
    def record_decision(self, data: RecordInput) -> bool:
        """Histories recorded before the kit's record_step call this; same write."""
        extra = {"rex": data.rex, "rex_review": data.rex_review}
        step = StepInput(
            "ANOMALY", data.reference, data.organization_id, data.step, data.action,
            data.changes, data.actor, data.reason, extra,
        )  # fmt: skip
        return record(self.sessions, ANOMALY_STEPS, step)

    @activity.defn
    def update_kpis(self, data: KpiInput) -> dict[str, float | None]:
        with transaction(self.sessions) as session:
            return kpi_service.refresh(
                session,
                data.organization_id,
                data.site_code,
                self.settings.kpi_period_days,
                timedelta(days=self.settings.rex_due_days),
            )


def _load(session: Session, organization_id: int, reference: str) -> Anomaly:
    return anomaly_service.get_anomaly(
        session=session, organization_id=organization_id, reference=reference, lock=True
    )


def _rex_alongside(session: Session, anomaly: Anomaly, data: StepInput) -> None:
    """A submitted REX, or the peer review's decision on it, stored with its step."""
    if data.extra.get("rex") is not None:
        anomaly_service.save_rex(
            session=session, anomaly=anomaly, actor=data.actor, content=data.extra["rex"]
        )
    if data.extra.get("rex_review") is not None:
        anomaly_service.review_rex(
            session=session,
            anomaly=anomaly,
            reviewer=data.actor,
            approved=data.extra["rex_review"],
            feedback=data.reason or "",
        )


ANOMALY_STEPS = StepTarget(
    entity=anomaly_service.ENTITY,
    load=_load,
    writable=frozenset(anomaly_service.WRITABLE),
    datetimes=frozenset(DATETIME_FIELDS),
    alongside=_rex_alongside,
)
ANOMALY_SUBJECT = Subject(
    entity=anomaly_service.ENTITY,
    load=lambda session, org, ref: anomaly_service.get_anomaly(
        session=session, organization_id=org, reference=ref
    ),
    audience=people.audience,
    render=render,
)


def response_seconds(output: AssessOutput) -> timedelta:
    return timedelta(seconds=output.response_seconds)
