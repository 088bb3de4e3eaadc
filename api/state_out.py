"""Answers that are a workflow's live state, with what the call itself produced."""

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel

from workflows.anomaly_types import AnomalyState
from workflows.work_order_types import WorkOrderState


@dataclass
class TaskCompletedOut(WorkOrderState):
    measurement_passed: bool | None = None


@dataclass
class LaborLoggedOut(WorkOrderState):
    cost: float = 0.0


@dataclass
class PermitIssuedOut(WorkOrderState):
    permit: str = ""


@dataclass
class EvidenceAddedOut(WorkOrderState):
    attachment_id: int = 0


class AnomalyAttachmentOut(BaseModel):
    attachment_id: int
    state: AnomalyState


class WorkOrderRef(BaseModel):
    number: str
    status: str
    source_reference: str | None


class KpiValue(BaseModel):
    value: float | None
    unit: str
    sample_size: int
    computed_at: str


class KpisOut(BaseModel):
    kpis: dict[str, dict[str, KpiValue]]


class KnowledgeItem(BaseModel):
    reference: str
    title: str
    asset_type: str
    root_cause_analysis: str
    lessons_learned: str
    preventive_actions: str
    best_practices: str
    training_needs: str
    author: str
    reviewer: str | None
    version: int
    approved_at: datetime | None


class KnowledgeOut(BaseModel):
    items: list[KnowledgeItem]
