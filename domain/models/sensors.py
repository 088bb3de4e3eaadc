"""IoT sensors (intake channel C2): gateways that send readings, sensors per asset with their
rules, the state of each rule, and the raw readings (a heap with a BRIN index on time, filled
by COPY and trimmed by the retention job)."""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from domain.models.base import Base, Timestamps


class SensorGateway(Timestamps, Base):
    __tablename__ = "sensor_gateways"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # SHA-256 of the key: the key is random and long, so a fast hash is enough, and the
    # ingest path looks it up on every batch.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str] = mapped_column(String(12))  # shown, to tell keys apart
    is_active: Mapped[bool] = mapped_column(default=True)
    last_seen_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(120))


class Sensor(Timestamps, Base):
    __tablename__ = "sensors"
    __table_args__ = (
        UniqueConstraint("organization_id", "code"),
        CheckConstraint("expected_interval_seconds > 0", name="interval_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    code: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(20))
    unit: Mapped[str] = mapped_column(String(20))
    expected_interval_seconds: Mapped[int]
    meter_id: Mapped[int | None] = mapped_column(ForeignKey("meters.id"))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_value: Mapped[float | None]
    last_reading_at: Mapped[datetime | None]
    # The meter's PM schedules were last told at (told at most once a minute).
    meter_told_at: Mapped[datetime | None]
    # Silent past its interval: since when, and the anomaly raised for it.
    stale_since: Mapped[datetime | None]
    stale_anomaly: Mapped[str | None] = mapped_column(String(40))

    rules: Mapped[list["SensorRule"]] = relationship(
        back_populates="sensor", order_by="SensorRule.id", cascade="all, delete-orphan"
    )


class SensorRule(Timestamps, Base):
    __tablename__ = "sensor_rules"
    __table_args__ = (
        CheckConstraint("deadband >= 0", name="deadband_not_negative"),
        CheckConstraint("for_seconds >= 0", name="for_seconds_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    sensor_id: Mapped[int] = mapped_column(ForeignKey("sensors.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # HIGH, LOW, RATE
    threshold: Mapped[float]
    for_seconds: Mapped[int] = mapped_column(default=0)
    deadband: Mapped[float] = mapped_column(default=0.0)
    safety_impact: Mapped[str] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(20))
    # A CONDITION_BASED PM schedule of the sensor's asset that a breach of this rule
    # triggers (seed 003 D.1): its work order is drafted for review.
    pm_schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("pm_schedules.id", ondelete="SET NULL")
    )

    sensor: Mapped[Sensor] = relationship(back_populates="rules")
    state: Mapped["SensorRuleState | None"] = relationship(
        cascade="all, delete-orphan", uselist=False
    )


class SensorRuleState(Base):
    """Where one rule stands, updated in bulk by the ingest path; only its changes of
    state reach a workflow."""

    __tablename__ = "sensor_rule_states"

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("sensor_rules.id", ondelete="CASCADE"), primary_key=True
    )
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="NORMAL")  # NORMAL, PENDING, BREACH
    breaching_since: Mapped[datetime | None]
    count: Mapped[int] = mapped_column(default=0)  # readings over the rule, on the open anomaly
    episodes: Mapped[int] = mapped_column(default=0)  # breaches on the open anomaly
    peak: Mapped[float | None]
    last_seen: Mapped[datetime | None]  # the last reading over the rule
    last_value: Mapped[float | None]  # the last reading, for the rate of change
    last_time: Mapped[datetime | None]
    anomaly_reference: Mapped[str | None] = mapped_column(String(40))
    # The anomaly's workflow hears at most one change a minute; a later one waits here.
    signalled_at: Mapped[datetime | None]
    pending: Mapped[str | None] = mapped_column(String(10))  # BREACH or NORMAL, not yet told


# Raw readings: one BRIN index on time for the retention, and one key (sensor, time) so a
# batch sent again stores nothing twice; the latest value per sensor is kept on the sensor.
sensor_readings = Table(
    "sensor_readings",
    Base.metadata,
    Column("organization_id", Integer, nullable=False),
    Column("sensor_id", Integer, nullable=False),
    Column("time", DateTime(timezone=True), nullable=False),
    Column("value", Float, nullable=False),
    Column("gateway_id", Integer, nullable=True),
    Index("ix_sensor_readings_time_brin", "time", postgresql_using="brin"),
    UniqueConstraint("sensor_id", "time", name="uq_sensor_readings_sensor_time"),
)
