"""Activities of the anomaly lifecycle: each reads or writes the database for one
workflow decision, idempotent by the workflow's step number."""

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.channels import Channels
from activities.messages import digest_body, render
from domain.actor import Actor
from domain.db import transaction
from domain.errors import DomainError
from domain.models import Notification, Site, User
from domain.rules.alerts import Audience, Channel
from domain.rules.anomaly_lifecycle import EscalationLevel
from domain.rules.assignment import rank
from domain.rules.criticality import (
    Factors,
    Level,
    SafetyImpact,
    Urgency,
    assess,
    response_deadline,
)
from domain.services import anomalies as anomaly_service
from domain.services import kpis as kpi_service
from domain.services import outbox, people
from domain.services.steps import parse_datetimes
from domain.settings import Settings

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
class Send:
    channel: str
    audience: str


@dataclass
class NotifyInput:
    reference: str
    organization_id: int
    step: int
    event: str
    sends: list[Send]
    context: dict[str, Any] = field(default_factory=dict)
    digest: str | None = None
    digest_audience: list[str] = field(default_factory=list)


@dataclass
class NotifyOutput:
    queued: int
    sent: int
    held: int


@dataclass
class DigestInput:
    kind: str  # SUMMARY or DAILY
    stamp: str  # the schedule's fire time, so a retried digest is the same message


@dataclass
class KpiInput:
    organization_id: int
    site_code: str


def _refuse(err: DomainError) -> ApplicationError:
    return ApplicationError(err.message, type=err.kind, non_retryable=True)


def _person(user: User | None) -> Person | None:
    return Person(user.id, user.username, user.full_name) if user else None


class AnomalyActivities:
    def __init__(
        self, sessions: sessionmaker[Session], settings: Settings, channels: Channels | None = None
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.channels = channels or Channels(settings)

    @activity.defn
    def assess_anomaly(self, data: AssessInput) -> AssessOutput:
        with transaction(self.sessions) as session:
            anomaly = anomaly_service.get_anomaly(
                session=session, organization_id=data.organization_id, reference=data.reference
            )
            f = anomaly.factors
            result = assess(
                Factors(
                    SafetyImpact(f["safety_impact"]),
                    float(f["production_loss_per_hour"]),
                    f["asset_criticality"],
                    Urgency(f["urgency"]),
                    bool(f["regulatory_impact"]),
                )
            )
            site = session.get(Site, anomaly.site_id)
            deadline = response_deadline(
                result.level, anomaly.registered_at, site.timezone, self.settings.response_times()
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
            if EscalationLevel(data.level) is EscalationLevel.SUPERVISOR:
                return _person(people.on_duty_supervisor(session, anomaly, datetime.now(UTC)))
            return _person(people.manager(session, anomaly))

    @activity.defn
    def record_decision(self, data: RecordInput) -> bool:
        changes = parse_datetimes(data.changes, DATETIME_FIELDS)
        try:
            with transaction(self.sessions) as session:
                written = anomaly_service.apply_step(
                    session=session,
                    reference=data.reference,
                    organization_id=data.organization_id,
                    step=data.step,
                    action=data.action,
                    changes=changes,
                    actor=data.actor,
                    reason=data.reason,
                )
                if written and (data.rex is not None or data.rex_review is not None):
                    anomaly = anomaly_service.get_anomaly(
                        session=session,
                        organization_id=data.organization_id,
                        reference=data.reference,
                    )
                    if data.rex is not None:
                        anomaly_service.save_rex(
                            session=session, anomaly=anomaly, actor=data.actor, content=data.rex
                        )
                    if data.rex_review is not None:
                        anomaly_service.review_rex(
                            session=session,
                            anomaly=anomaly,
                            reviewer=data.actor,
                            approved=data.rex_review,
                            feedback=data.reason or "",
                        )
                return written
        except DomainError as err:
            raise _refuse(err) from err

    def _enqueue(self, data: NotifyInput) -> list[str]:
        now = datetime.now(UTC)
        with transaction(self.sessions) as session:
            anomaly = anomaly_service.get_anomaly(
                session=session, organization_id=data.organization_id, reference=data.reference
            )
            messages: list[outbox.Message] = []
            seen: set[tuple[str, int]] = set()
            plan = [(s.channel, s.audience, None) for s in data.sends] + [
                (Channel.EMAIL.value, a, data.digest) for a in data.digest_audience
            ]
            for channel_name, audience_name, digest in plan:
                channel = Channel(channel_name)
                for user in people.audience(session, anomaly, Audience(audience_name), now):
                    if (channel_name, user.id) in seen:
                        continue
                    seen.add((channel_name, user.id))
                    subject, body = render(data.event, channel, anomaly, user, data.context)
                    messages.append(
                        outbox.Message(
                            key=f"{data.reference}/{data.step}/{data.event}/{channel_name}/{user.id}",
                            organization_id=data.organization_id,
                            reference=data.reference,
                            event=data.event,
                            channel=channel,
                            recipient=user,
                            subject=subject,
                            body=body,
                            digest=digest,
                        )
                    )
            outbox.enqueue(session, messages, self.channels.configured())
            return [m.key for m in messages]

    async def _deliver(self, notification_id: int, final_attempt: bool) -> str:
        """SENT, or the error text; the row lock is held while the provider is called."""
        with self.sessions() as session, session.begin():
            row = outbox.claim(session, notification_id)
            if row is None:
                return "SENT"
            row.attempts += 1
            try:
                row.provider_id = await self._send(row)
            except Exception as err:  # any provider failure is recorded and retried
                row.last_error = f"{type(err).__name__}: {err}"[:2000]
                if final_attempt:
                    row.status = "FAILED"
                return row.last_error
            row.status = "SENT"
            row.sent_at = datetime.now(UTC)
            row.last_error = None
            return "SENT"

    async def _send(self, row: Notification) -> str:
        channel = Channel(row.channel)
        if channel is Channel.EMAIL:
            return await self.channels.email(row.address, row.subject, row.body, row.key)
        send = {
            Channel.SMS: self.channels.sms,
            Channel.WHATSAPP: self.channels.whatsapp,
            Channel.VOICE: self.channels.voice,
        }[channel]
        return await asyncio.to_thread(send, row.address, row.body)

    @activity.defn
    async def notify(self, data: NotifyInput) -> NotifyOutput:
        keys = await asyncio.to_thread(self._enqueue, data)
        return await self.deliver(keys)

    async def deliver(self, keys: list[str]) -> NotifyOutput:
        info = activity.info() if activity.in_activity() else None
        final = bool(
            info
            and info.retry_policy
            and info.retry_policy.maximum_attempts
            and info.attempt >= info.retry_policy.maximum_attempts
        )
        ids = await asyncio.to_thread(self._pending_ids, keys)
        errors = [e for i in ids if (e := await self._deliver(i, final)) != "SENT"]
        if errors and not final:
            # Raise so Temporal retries; rows already sent stay SENT and are skipped.
            raise ApplicationError(f"{len(errors)} message(s) not delivered: {errors[0]}")
        counts = await asyncio.to_thread(self._counts, keys)
        return NotifyOutput(len(keys), counts.get("SENT", 0), counts.get("HELD", 0))

    def _pending_ids(self, keys: list[str]) -> list[int]:
        with self.sessions() as session:
            return outbox.pending_ids(session, keys)

    def _counts(self, keys: list[str]) -> dict[str, int]:
        from sqlalchemy import func, select

        with self.sessions() as session:
            return dict(
                session.execute(
                    select(Notification.status, func.count())
                    .where(Notification.key.in_(keys))
                    .group_by(Notification.status)
                ).all()
            )

    def _compose_digests(self, data: DigestInput) -> list[str]:
        """One email per recipient gathering the anomalies queued for this digest."""
        from collections import defaultdict

        from sqlalchemy import select

        title = "Anomaly summary" if data.kind == "SUMMARY" else "Daily anomaly digest"
        with transaction(self.sessions) as session:
            rows = session.scalars(
                select(Notification)
                .where(Notification.status == "DIGEST", Notification.digest == data.kind)
                .order_by(Notification.id)
                .with_for_update(skip_locked=True)
            ).all()
            grouped: dict[tuple[int, int], list[Notification]] = defaultdict(list)
            for row in rows:
                grouped[(row.organization_id, row.recipient_id)].append(row)
            messages = []
            for (org, user_id), items in grouped.items():
                user = session.get(User, user_id)
                key = f"digest/{data.kind}/{data.stamp}/{user_id}"
                body = digest_body(user, title, items, self.settings.web_url)
                messages.append(
                    outbox.Message(
                        key,
                        org,
                        None,
                        f"{data.kind}_DIGEST",
                        Channel.EMAIL,
                        user,
                        f"{title}: {len(items)} anomalies",
                        body,
                    )
                )
                for item in items:
                    item.status, item.provider_id = "SENT", key
                    item.sent_at = datetime.now(UTC)
            outbox.enqueue(session, messages, self.channels.configured())
            return [m.key for m in messages]

    @activity.defn
    async def send_digest(self, data: DigestInput) -> NotifyOutput:
        keys = await asyncio.to_thread(self._compose_digests, data)
        return await self.deliver(keys)

    @activity.defn
    def update_kpis(self, data: KpiInput) -> dict[str, float | None]:
        with transaction(self.sessions) as session:
            return kpi_service.recompute(
                session,
                data.organization_id,
                data.site_code,
                datetime.now(UTC),
                self.settings.kpi_period_days,
                timedelta(days=self.settings.rex_due_days),
            )


def response_seconds(output: AssessOutput) -> timedelta:
    return timedelta(seconds=output.response_seconds)
