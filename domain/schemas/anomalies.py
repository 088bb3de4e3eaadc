"""Validated shapes of the anomaly API: what comes in, what goes out."""

import base64
import binascii
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from domain.rules.anomaly_lifecycle import AnomalyStatus, AttachmentKind
from domain.rules.criticality import Level, SafetyImpact, Urgency
from domain.schemas.fields import Code, Label, Moment, Money, Note, Quantity, ShortText

MAX_PHOTOS = 5
MAX_PHOTO_BASE64 = 14_000_000  # about 10 MB of image
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/heic", "image/gif"}


class IntakeChannel(StrEnum):
    MOBILE = "MOBILE"  # C1: technician on the web form or a phone
    IOT = "IOT"  # C2: a sensor threshold
    MAXIMO = "MAXIMO"  # C3: an enterprise system import
    EXCEL = "EXCEL"  # C4: a batch upload
    API = "API"


class PhotoIn(BaseModel):
    filename: ShortText = Field(min_length=1)
    content_type: Label
    data_base64: str = Field(max_length=MAX_PHOTO_BASE64)

    @field_validator("content_type")
    @classmethod
    def _image(cls, value: str) -> str:
        if value not in IMAGE_TYPES:
            raise ValueError(f"must be one of {', '.join(sorted(IMAGE_TYPES))}")
        return value

    def content(self) -> bytes:
        try:
            data = base64.b64decode(self.data_base64, validate=True)
        except binascii.Error as err:
            raise ValueError("data_base64 is not valid base64") from err
        return data


class AnomalyReport(BaseModel):
    """One anomaly as any intake channel reports it."""

    # Seed 000 phase 2: the same report whatever the channel.

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    asset: Code = Field(min_length=1, description="asset number")
    title: ShortText = Field(min_length=3)
    description: Note = Field(min_length=10)
    location: ShortText | None = None
    channel: IntakeChannel = IntakeChannel.API
    detected_at: Moment | None = None
    occurred_at: Moment | None = None
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    safety_impact: SafetyImpact = SafetyImpact.NONE
    production_loss_per_hour: Money | None = Field(default=None, le=10_000_000)
    urgency: Urgency = Urgency.SOON
    regulatory_impact: bool = False
    photos: list[PhotoIn] = Field(default_factory=list, max_length=MAX_PHOTOS)

    @field_validator("asset", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("detected_at", "occurred_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2026-11-26T08:00:00Z")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> "AnomalyReport":
        if (self.latitude is None) != (self.longitude is None):
            raise ValueError("latitude and longitude go together: give both or neither")
        if self.occurred_at and self.detected_at and self.occurred_at > self.detected_at:
            raise ValueError("occurred_at cannot be after detected_at")
        return self


class CriticalityOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")
    level: Level
    reason: ShortText = Field(min_length=5)


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    eta: Moment
    safety_acknowledged: bool

    @field_validator("eta")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must carry a time zone, e.g. 2026-11-26T08:30:00Z")
        return value


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: ShortText = Field(min_length=3)


class ReassignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    assignee: Label | None = Field(
        default=None, description="username; leave out to take the anomaly yourself"
    )
    reason: ShortText = Field(min_length=3)


class PartUsed(BaseModel):
    part_number: Code = Field(min_length=1)
    description: ShortText = ""
    quantity: Quantity = Field(gt=0)
    serial_numbers: list[Code] = Field(default_factory=list, max_length=100)


class TestResult(BaseModel):
    name: Label = Field(min_length=1)
    value: Label = Field(min_length=1)
    passed: bool


class ProgressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: Note = Field(min_length=3)
    loto_acknowledged: bool = False
    parts_used: list[PartUsed] = Field(default_factory=list, max_length=50)
    test_results: list[TestResult] = Field(default_factory=list, max_length=50)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    root_cause: Note = ""
    corrective_action: Note = ""
    verification_test: Note = ""
    safety_restored: bool = False


class ReviewDecision(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: ReviewDecision
    feedback: Note = ""

    @model_validator(mode="after")
    def _feedback_on_reject(self) -> "ReviewIn":
        if self.decision is ReviewDecision.REJECT and len(self.feedback.strip()) < 5:
            raise ValueError("feedback: a rejection needs feedback for the technician")
        return self


class RexIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    root_cause_analysis: Note = Field(min_length=3)
    lessons_learned: Note = Field(min_length=3)
    preventive_actions: Note = Field(min_length=3)
    best_practices: Note = Field(min_length=3)
    training_needs: Note = Field(min_length=3)


class RexDecision(StrEnum):
    APPROVE = "APPROVE"
    NEEDS_REVISION = "NEEDS_REVISION"


class RexReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: RexDecision
    feedback: Note = ""

    @model_validator(mode="after")
    def _feedback_on_revision(self) -> "RexReviewIn":
        if self.decision is RexDecision.NEEDS_REVISION and len(self.feedback.strip()) < 5:
            raise ValueError("feedback: a revision request needs feedback for the author")
        return self


class AttachmentOut(BaseModel):
    id: int
    kind: AttachmentKind
    filename: str
    content_type: str
    size: int
    caption: str | None
    uploaded_by: str
    uploaded_at: datetime


class AnomalyOut(BaseModel):
    reference: str
    status: AnomalyStatus
    title: str
    description: str
    asset: str
    site: str
    location: str
    channel: str
    reporter: str
    occurred_at: datetime | None
    detected_at: datetime
    registered_at: datetime
    latitude: float | None
    longitude: float | None
    criticality: str | None
    criticality_score: int | None
    criticality_reasons: list[str]
    response_deadline: datetime | None
    dashboard_flag: str | None
    alert_acknowledged_at: datetime | None
    assignee: str | None
    assignment_score: float | None
    assignment_explanation: list[str]
    escalation_level: str
    eta: datetime | None
    accepted_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution: dict[str, Any]
    work_log: dict[str, Any]
    enrichment: dict[str, Any]
    attachments: list[AttachmentOut]
    live: dict[str, Any] | None = None
    work_orders: list[dict[str, str]] = []


class TimelineEntry(BaseModel):
    at: datetime
    action: str
    by: str
    role: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
