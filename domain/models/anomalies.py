"""Anomalies from registration to REX (seed 000), their files, references and KPIs."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.models.base import Base, Timestamps

if TYPE_CHECKING:
    from domain.models.people import User


class ReferenceCounter(Base):
    """The last number handed out per prefix and year; its row lock keeps references
    gapless under concurrent registration (a sequence would leave gaps on rollback)."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


class Anomaly(Timestamps, Base):
    __tablename__ = "anomalies"
    __table_args__ = (
        Index("ix_anomalies_org_status", "organization_id", "status"),
        Index("ix_anomalies_asset_detected", "asset_id", "detected_at"),
        Index("ix_anomalies_org_registered", "organization_id", "registered_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    location: Mapped[str] = mapped_column(String(300))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reporter_name: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(20))
    occurred_at: Mapped[datetime | None]
    detected_at: Mapped[datetime]
    registered_at: Mapped[datetime]
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    # What registration added: asset type and criticality, site, recent history, protocols.
    enrichment: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The assessment's inputs as reported, and its outcome with reasons.
    factors: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    criticality: Mapped[str | None] = mapped_column(String(2), index=True)
    criticality_score: Mapped[int | None]
    criticality_reasons: Mapped[list[str]] = mapped_column(JSONB, default=list)
    criticality_overridden_by: Mapped[str | None] = mapped_column(String(200))
    response_deadline: Mapped[datetime | None]
    dashboard_flag: Mapped[str | None] = mapped_column(String(10))
    alert_acknowledged_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="REGISTERED")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    assignment_score: Mapped[float | None]
    assignment_explanation: Mapped[list[str]] = mapped_column(JSONB, default=list)
    escalation_level: Mapped[str] = mapped_column(String(20), default="TECHNICIAN")
    escalated: Mapped[bool] = mapped_column(default=False)
    eta: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    approved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    review_rounds: Mapped[int] = mapped_column(default=0)
    review_rejections: Mapped[int] = mapped_column(default=0)
    resolution: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Field work: notes, LOTO, parts with serials, test results (phase 7).
    work_log: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The workflow's step last written; a retried activity at or below it changes nothing.
    last_step: Mapped[int] = mapped_column(default=0)

    attachments: Mapped[list["AnomalyAttachment"]] = relationship(
        back_populates="anomaly", order_by="AnomalyAttachment.id"
    )
    # Read-only: the workflow's activities write assignee_id.
    assignee: Mapped["User"] = relationship(foreign_keys=[assignee_id], viewonly=True)


class AnomalyAttachment(Base):
    __tablename__ = "anomaly_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    anomaly_id: Mapped[int] = mapped_column(ForeignKey("anomalies.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    caption: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(server_default=func.now())

    anomaly: Mapped[Anomaly] = relationship(back_populates="attachments")


class Rex(Timestamps, Base):
    """A return of experience (phase 9); approved ones form the knowledge base."""

    __tablename__ = "rex_entries"
    __table_args__ = (Index("ix_rex_entries_status", "organization_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    anomaly_id: Mapped[int] = mapped_column(ForeignKey("anomalies.id"), unique=True)
    asset_type_code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    root_cause_analysis: Mapped[str] = mapped_column(Text)
    lessons_learned: Mapped[str] = mapped_column(Text)
    preventive_actions: Mapped[str] = mapped_column(Text)
    best_practices: Mapped[str] = mapped_column(Text)
    training_needs: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    author_name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(20), default="SUBMITTED")
    reviewer_name: Mapped[str | None] = mapped_column(String(200))
    review_feedback: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None]


class Notification(Base):
    """The outbox: one row per message, keyed so a retried activity never sends twice."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("key"),
        Index("ix_notifications_recipient_unread", "recipient_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    reference: Mapped[str | None] = mapped_column(String(60), index=True)
    event: Mapped[str] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(20))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    recipient_name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    # PENDING: to send now; HELD: no provider configured; SENT; FAILED: retries ran out;
    # DIGEST: waits for the summary or daily digest named in digest.
    status: Mapped[str] = mapped_column(String(10), default="PENDING", index=True)
    digest: Mapped[str | None] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
    read_at: Mapped[datetime | None]


class KpiValue(Base):
    """The KPIs of seed 000, recomputed when an anomaly closes; site_id null = enterprise."""

    __tablename__ = "anomaly_kpis"
    __table_args__ = (
        UniqueConstraint("organization_id", "site_id", "name", postgresql_nulls_not_distinct=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    name: Mapped[str] = mapped_column(String(60))
    value: Mapped[float | None]
    unit: Mapped[str] = mapped_column(String(20))
    sample_size: Mapped[int]
    computed_at: Mapped[datetime] = mapped_column(server_default=func.now())
