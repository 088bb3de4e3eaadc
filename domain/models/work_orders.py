"""Work orders (seed 003 C.4), permits (F.3), downtime (E.2), spare parts (F.5, F.6),
operator reports (E.4), stop-work orders and the event stream of J.2."""

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.models.base import Base, Timestamps
from domain.models.spans import span

if TYPE_CHECKING:
    from domain.models.assets import Asset


class WorkOrder(Timestamps, Base):
    __tablename__ = "work_orders"
    __table_args__ = (
        Index("ix_work_orders_org_status", "organization_id", "status"),
        Index("ix_work_orders_asset_status", "asset_id", "status"),
        Index("ix_work_orders_org_id", "organization_id", "id"),
        Index("ix_work_orders_source_reference", "source_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)  # WO-2026-00042
    type: Mapped[str] = mapped_column(String(20), index=True)
    priority: Mapped[str] = mapped_column(String(10), default="NORMAL")
    source: Mapped[str] = mapped_column(String(20))
    source_reference: Mapped[str | None] = mapped_column(String(60))  # ANO-..., report id
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    problem_code: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="DRAFT")
    status_changed_at: Mapped[datetime | None]
    status_changed_by: Mapped[str | None] = mapped_column(String(200))
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    scheduled_date: Mapped[datetime | None]
    scheduled_shift: Mapped[str | None] = mapped_column(String(40))
    estimated_hours: Mapped[float | None]
    estimated_cost: Mapped[float] = mapped_column(default=0.0)
    requires_loto: Mapped[bool] = mapped_column(default=False)
    requires_hot_work: Mapped[bool] = mapped_column(default=False)
    requires_confined_space: Mapped[bool] = mapped_column(default=False)
    requires_first_article: Mapped[bool] = mapped_column(default=False)
    first_article_passed: Mapped[bool | None]
    after_stop_work: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    verified_by: Mapped[str | None] = mapped_column(String(200))
    verification: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    test_run_passed: Mapped[bool | None]
    approvals: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    downtime_id: Mapped[int | None] = mapped_column(ForeignKey("downtime_records.id"))
    closed_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    # The workflow's step last written; a retried activity at or below it changes nothing.
    last_step: Mapped[int] = mapped_column(default=0)
    # A PM work order: its schedule, and the template version it was made from.
    pm_schedule_id: Mapped[int | None] = mapped_column(ForeignKey("pm_schedules.id"), index=True)
    pm_template_id: Mapped[int | None] = mapped_column(ForeignKey("pm_templates.id"))

    tasks: Mapped[list["WorkOrderTask"]] = relationship(order_by="WorkOrderTask.sequence")
    labor: Mapped[list["WorkOrderLabor"]] = relationship(order_by="WorkOrderLabor.id")
    parts: Mapped[list["WorkOrderPart"]] = relationship(order_by="WorkOrderPart.id")
    attachments: Mapped[list["WorkOrderAttachment"]] = relationship(
        order_by="WorkOrderAttachment.id"
    )
    permits: Mapped[list["Permit"]] = relationship(order_by="Permit.id")
    # Read-only: what a work order shows of its asset, loaded with a page's rows.
    asset: Mapped["Asset"] = relationship(foreign_keys=[asset_id], viewonly=True)

    # Costs are read from their lines, never stored twice: a content write then touches
    # only its own rows, never this one (which the workflow's writes lock).
    @property
    def labor_cost(self) -> float:
        return round(sum(entry.total_cost for entry in self.labor), 2)

    @property
    def parts_cost(self) -> float:
        return round(sum((p.quantity_used or 0) * (p.unit_cost or 0) for p in self.parts), 2)


class WorkOrderTask(Base):
    __tablename__ = "work_order_tasks"
    __table_args__ = (UniqueConstraint("work_order_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    sequence: Mapped[int]
    description: Mapped[str] = mapped_column(Text)
    is_required: Mapped[bool] = mapped_column(default=True)
    requires_measurement: Mapped[bool] = mapped_column(default=False)
    measurement_unit: Mapped[str | None] = mapped_column(String(20))
    spec_min: Mapped[float | None]
    spec_max: Mapped[float | None]
    requires_photo: Mapped[bool] = mapped_column(default=False, server_default=false())
    measurement_value: Mapped[float | None]
    measurement_passed: Mapped[bool | None]
    completed: Mapped[bool] = mapped_column(default=False)
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)


class WorkOrderLabor(Base):
    __tablename__ = "work_order_labor"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    technician_name: Mapped[str] = mapped_column(String(200))
    labor_type: Mapped[str] = mapped_column(String(20), default="REGULAR")
    hours: Mapped[float]
    hourly_rate: Mapped[float]
    total_cost: Mapped[float]
    notes: Mapped[str | None] = mapped_column(Text)
    logged_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WorkOrderPart(Base):
    __tablename__ = "work_order_parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("spare_parts.id"), index=True)
    quantity_required: Mapped[float]
    quantity_used: Mapped[float] = mapped_column(default=0.0)
    unit_cost: Mapped[float | None]
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_at: Mapped[datetime] = mapped_column(server_default=func.now())
    issued_by: Mapped[str | None] = mapped_column(String(200))
    issued_at: Mapped[datetime | None]
    serial_numbers: Mapped[list[str]] = mapped_column(JSONB, default=list)


class WorkOrderAttachment(Base):
    __tablename__ = "work_order_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    # The bytes live in stored_files under this hash; older rows kept them inline.
    sha256: Mapped[str | None] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary)
    description: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(40))  # e.g. carried over from ANO-...
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Permit(Base):
    """A LOTO, hot-work or confined-space permit, issued by an authorised person."""

    __tablename__ = "permits"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    issued_by: Mapped[str] = mapped_column(String(200))
    issued_at: Mapped[datetime] = mapped_column(server_default=func.now())
    energy_sources: Mapped[list[str]] = mapped_column(JSONB, default=list)
    isolation_verified: Mapped[bool] = mapped_column(default=False)
    lock_numbers: Mapped[list[str]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(10), default="ACTIVE")  # ACTIVE, REMOVED
    removed_by: Mapped[str | None] = mapped_column(String(200))
    removed_at: Mapped[datetime | None]


class DowntimeRecord(Base):
    __tablename__ = "downtime_records"
    __table_args__ = (Index("ix_downtime_records_asset_start", "asset_id", "start_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    type: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str] = mapped_column(String(20))
    reason_details: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime]
    end_time: Mapped[datetime | None]
    duration_minutes: Mapped[int | None]
    planned: Mapped[bool] = mapped_column(default=False)
    impacted_jobs: Mapped[list[str]] = mapped_column(JSONB, default=list)
    production_loss_value: Mapped[float | None]
    work_order_number: Mapped[str | None] = mapped_column(String(20))
    reported_by: Mapped[str] = mapped_column(String(200))
    ended_by: Mapped[str | None] = mapped_column(String(200))


Index(
    "ix_downtime_records_span",
    span(DowntimeRecord.start_time, DowntimeRecord.end_time),
    postgresql_using="gist",
)


class SparePart(Timestamps, Base):
    __tablename__ = "spare_parts"
    __table_args__ = (UniqueConstraint("organization_id", "part_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    part_number: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    criticality: Mapped[str] = mapped_column(String(10), default="STANDARD")
    unit_cost: Mapped[float | None]
    lead_time_days: Mapped[int | None]
    quantity_on_hand: Mapped[float] = mapped_column(default=0.0)
    quantity_reserved: Mapped[float] = mapped_column(default=0.0)
    min_quantity: Mapped[float] = mapped_column(default=0.0)
    reorder_point: Mapped[float | None]
    reorder_quantity: Mapped[float | None]
    warehouse_location: Mapped[str | None] = mapped_column(String(60))
    bin_location: Mapped[str | None] = mapped_column(String(60))
    last_used_at: Mapped[datetime | None]

    @property
    def quantity_available(self) -> float:
        return self.quantity_on_hand - self.quantity_reserved


class InventoryTransaction(Base):
    __tablename__ = "inventory_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("spare_parts.id"), index=True)
    type: Mapped[str] = mapped_column(String(10))  # ISSUE, RECEIVE, RESERVE, RELEASE
    quantity: Mapped[float]
    balance_after: Mapped[float]
    reference_type: Mapped[str | None] = mapped_column(String(20))
    reference_id: Mapped[str | None] = mapped_column(String(40))
    performed_by: Mapped[str] = mapped_column(String(200))
    performed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    notes: Mapped[str | None] = mapped_column(Text)


class PartReservation(Base):
    __tablename__ = "part_reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    part_id: Mapped[int] = mapped_column(ForeignKey("spare_parts.id"), index=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id"), index=True)
    quantity: Mapped[float]
    status: Mapped[str] = mapped_column(String(10), default="ACTIVE")  # ACTIVE, ISSUED, RELEASED
    reserved_by: Mapped[str] = mapped_column(String(200))
    reserved_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OperatorReport(Base):
    """E.4: what an operator reports at the machine; a breakdown opens a work order."""

    __tablename__ = "operator_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    report_type: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    symptom: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(Text)
    stopped_equipment: Mapped[bool]
    safety_hazard: Mapped[bool]
    impacted_job: Mapped[str | None] = mapped_column(String(60))
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reported_by: Mapped[str] = mapped_column(String(200))
    reported_at: Mapped[datetime]
    work_order_number: Mapped[str | None] = mapped_column(String(20))
    downtime_id: Mapped[int | None] = mapped_column(ForeignKey("downtime_records.id"))
    # The last step its lifecycle did (REPORTED … ASSET_DOWN), and that step's number.
    status: Mapped[str | None] = mapped_column(String(40))
    last_step: Mapped[int] = mapped_column(default=0)


class StopWork(Base):
    """A stop-work authority order on an asset, until EHS clears it."""

    __tablename__ = "stop_work_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[str] = mapped_column(String(200))
    raised_at: Mapped[datetime] = mapped_column(server_default=func.now())
    cleared_by: Mapped[str | None] = mapped_column(String(200))
    cleared_at: Mapped[datetime | None]
    held_work_orders: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # The last step its lifecycle did (STOP_WORK_RAISED … ASSET_RELEASED), and its number.
    status: Mapped[str | None] = mapped_column(String(40))
    last_step: Mapped[int] = mapped_column(default=0)


class MaintenanceEvent(Base):
    """The J.2 events, in commit order: readers page by id."""

    __tablename__ = "maintenance_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    entity_type: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # Keyed so a retried activity records an event once.
    key: Mapped[str] = mapped_column(String(120), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PmSchedule(Timestamps, Base):
    """A preventive-maintenance schedule: one template on one asset (seed 003 D.2), driven
    by its PMScheduleWorkflow (PMS-<id>), the one writer of its fields once started."""

    __tablename__ = "pm_schedules"
    __table_args__ = (
        UniqueConstraint("asset_id", "template_code"),
        UniqueConstraint("organization_id", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    template_code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    # <template code>@<asset number>; older rows made before templates have none.
    code: Mapped[str | None] = mapped_column(String(110))
    # The template version new work orders are made from (the current one when last edited).
    template_id: Mapped[int | None] = mapped_column(ForeignKey("pm_templates.id"), index=True)
    schedule_type: Mapped[str] = mapped_column(String(20), default="TIME_BASED")
    interval_days: Mapped[int | None]
    interval_hours: Mapped[float | None]
    interval_cycles: Mapped[int | None]
    anchor: Mapped[str] = mapped_column(String(10), default="FLOATING")  # FLOATING, FIXED
    meter_type: Mapped[str | None] = mapped_column(String(20))  # HOURS, CYCLES
    last_executed_at: Mapped[datetime | None]
    last_executed_wo: Mapped[str | None] = mapped_column(String(20))
    last_meter_reading: Mapped[float | None]
    next_due_date: Mapped[datetime | None]
    next_due_meter: Mapped[float | None]
    # When a reading reached the due meter: a meter PM's overdue clock starts there.
    meter_due_at: Mapped[datetime | None]
    alert_days_before: Mapped[int] = mapped_column(default=7)
    alert_hours_before: Mapped[float] = mapped_column(default=50.0)
    overdue_threshold_days: Mapped[int] = mapped_column(default=14)
    overdue_action: Mapped[str] = mapped_column(String(20), default="ALERT")
    is_active: Mapped[bool] = mapped_column(default=True)
    is_paused: Mapped[bool] = mapped_column(default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    open_work_order: Mapped[str | None] = mapped_column(String(20))
    # Overdue notices given for the current due ({"team": day, "manager": day}) and the
    # block, so a new run of the workflow does not repeat them.
    overdue_told: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    blocked_at: Mapped[datetime | None]
    cycles: Mapped[int] = mapped_column(default=0)  # PMs done on this schedule
    last_step: Mapped[int] = mapped_column(default=0)

    asset: Mapped["Asset"] = relationship(foreign_keys=[asset_id], viewonly=True)
