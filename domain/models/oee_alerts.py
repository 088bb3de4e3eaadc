"""Performance targets and the alerts raised against them (seed 002 `performance_targets`,
`performance_alerts`)."""

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, Timestamps


class PerformanceTarget(Timestamps, Base):
    """A machine's, a line's or a product's goals, in percent, in force from `effective_date`
    up to `expiry_date` (inclusive). `reference` is the asset number, line code or product
    code, upper case."""

    __tablename__ = "performance_targets"
    __table_args__ = (Index("ix_performance_targets_ref", "organization_id", "target_type",
                            "reference"),)  # fmt: skip

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    target_type: Mapped[str] = mapped_column(String(10))  # machine, line, product
    reference: Mapped[str] = mapped_column(String(60))
    oee_target: Mapped[float] = mapped_column(default=85.0)
    availability_target: Mapped[float] = mapped_column(default=90.0)
    performance_target: Mapped[float] = mapped_column(default=95.0)
    quality_target: Mapped[float] = mapped_column(default=99.0)
    effective_date: Mapped[date]
    expiry_date: Mapped[date | None]
    set_by: Mapped[str] = mapped_column(String(200))


class PerformanceAlert(Timestamps, Base):
    """One alert. `dedupe_key` names the condition (a machine's OEE below target, one open
    downtime, one shift): while an alert of that key is unresolved no second one is raised."""

    __tablename__ = "performance_alerts"
    __table_args__ = (
        Index("ix_performance_alerts_status", "organization_id", "acknowledged_at"),
        Index("ix_performance_alerts_machine", "machine_id", "triggered_at"),
        Index(
            "uq_performance_alerts_open_key",
            "organization_id",
            "dedupe_key",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    alert_type: Mapped[str] = mapped_column(String(30))
    severity: Mapped[str] = mapped_column(String(10))  # medium, high
    metric_name: Mapped[str] = mapped_column(String(30))
    threshold_value: Mapped[float | None]
    actual_value: Mapped[float | None]
    reference_type: Mapped[str] = mapped_column(String(20))  # machine, downtime, shift
    reference_id: Mapped[int | None]
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machines.id"))
    dedupe_key: Mapped[str] = mapped_column(String(120))
    message: Mapped[str] = mapped_column(Text)
    triggered_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_at: Mapped[datetime | None]
    action_notes: Mapped[str | None] = mapped_column(Text)
    action_by: Mapped[str | None] = mapped_column(String(200))
    action_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(Text)
    notification_sent: Mapped[bool] = mapped_column(default=False)
