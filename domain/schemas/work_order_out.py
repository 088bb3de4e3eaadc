"""What the work-order, parts, downtime, stop-work and event endpoints answer: declared,
so the OpenAPI document tells clients the truth and every answer is checked against it."""

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class TaskOut(BaseModel):
    sequence: int
    description: str
    required: bool
    requires_measurement: bool
    unit: str | None
    spec_min: float | None
    spec_max: float | None
    requires_photo: bool = False
    measurement_value: float | None
    measurement_passed: bool | None
    completed: bool
    completed_by: str | None


class LaborOut(BaseModel):
    technician: str
    hours: float
    type: str
    cost: float


class PartLineOut(BaseModel):
    part_id: int
    required: float
    used: float | None
    serial_numbers: list[str]
    issued_by: str | None


class PermitOut(BaseModel):
    number: str
    kind: str
    status: str
    issued_by: str
    energy_sources: list[str]
    isolation_verified: bool
    removed_by: str | None


class WoAttachmentOut(BaseModel):
    id: int
    kind: str
    filename: str
    source: str | None
    uploaded_by: str


class WorkOrderOut(BaseModel):
    number: str
    type: str
    priority: str
    source: str
    source_reference: str | None
    status: str
    asset: str
    asset_status: str
    title: str
    description: str
    assigned_to_id: int | None
    scheduled_date: datetime | None
    estimated_hours: float | None
    estimated_cost: float
    requires_loto: bool
    requires_hot_work: bool
    requires_confined_space: bool
    requires_first_article: bool
    first_article_passed: bool | None
    after_stop_work: bool
    started_at: datetime | None
    completed_at: datetime | None
    verified_at: datetime | None
    verification: dict[str, Any]
    test_run_passed: bool | None
    approvals: dict[str, Any]
    labor_cost: float
    parts_cost: float
    total_cost: float
    closed_at: datetime | None
    cancel_reason: str | None
    tasks: list[TaskOut]
    labor: list[LaborOut]
    parts: list[PartLineOut]
    permits: list[PermitOut]
    attachments: list[WoAttachmentOut]
    live: dict[str, Any] | None = None


class WorkOrderPage(BaseModel):
    items: list[WorkOrderOut]
    total: int
    limit: int
    offset: int


class HistoryEntry(BaseModel):
    at: datetime
    action: str
    by: str
    role: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


class PartOut(BaseModel):
    part_number: str
    name: str
    category: str
    criticality: str
    unit_cost: float | None
    quantity_on_hand: float
    quantity_reserved: float
    quantity_available: float
    reorder_point: float | None
    reorder_quantity: float | None
    low_stock: bool


class PartList(BaseModel):
    items: list[PartOut]


class PartIssued(BaseModel):
    part: PartOut
    used: float | None
    alerts: list[Any]
    work_order: dict[str, Any]


class DowntimeOut(BaseModel):
    id: int
    asset: str
    type: str
    reason_code: str
    start_time: datetime
    end_time: datetime | None
    duration_minutes: float | None
    duration_hours: float | None
    impacted_jobs: list[str]
    work_order: str | None
    production_loss_value: float | None


class DowntimeList(BaseModel):
    items: list[DowntimeOut]


class ReasonHours(BaseModel):
    reason_code: str
    events: int
    hours: float


class DowntimeAnalytics(BaseModel):
    by_reason: list[ReasonHours]


class DispatchBlock(BaseModel):
    model_config = ConfigDict(extra="allow")  # each block type adds its own detail
    type: str
    message: str


class DispatchOut(BaseModel):
    asset: str
    canDispatch: bool  # the J.1 field name
    blocks: list[DispatchBlock]


class EventOut(BaseModel):
    id: int
    type: str
    entity_type: str
    entity_id: str
    payload: dict[str, Any]
    occurred_at: datetime


class EventPage(BaseModel):
    items: list[EventOut]
    next_after: int


class OperatorReportOut(BaseModel):
    report_id: int
    work_order: str
    work_order_type: str
    asset: str
    asset_status: str | None
    downtime_id: int | None
    impacted_jobs: list[str]
    # The last step the report's lifecycle did (REPORTED … ASSET_DOWN).
    status: str


class StopWorkOut(BaseModel):
    stop_work_id: int
    asset: str
    asset_status: str
    held_work_orders: list[str]
    unreached_work_orders: list[str]


class StopWorkClearedOut(BaseModel):
    stop_work_id: int
    asset: str
    asset_status: str
    released_work_orders: list[str]
    still_open_stop_work: list[int]
    unreached_work_orders: list[str]
