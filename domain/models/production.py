"""Production and loss records of seed 002: machines, lines, shifts, output, stops, quality
and energy, and the OEE snapshots and summaries rolled up from them.

Snapshots and summaries hold times (seconds) and counts, never percentages: every ratio is
recomputed from their sums (domain.rules.oee)."""

from datetime import date, datetime, time
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, Timestamps
from domain.models.spans import LONG_COUNT_SQL, span


class ProductionLine(Timestamps, Base):
    __tablename__ = "production_lines"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))


class Machine(Timestamps, Base):
    """An asset marked as producing, with the ideal cycle time its output is judged by."""

    __tablename__ = "machines"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    line_id: Mapped[int | None] = mapped_column(ForeignKey("production_lines.id"), index=True)
    ideal_cycle_seconds: Mapped[float]
    producing: Mapped[bool] = mapped_column(default=True)
    oee_target_pct: Mapped[float] = mapped_column(default=85.0)


class MachineProductCycle(Base):
    """A product's own ideal cycle time on a machine, over the machine's default."""

    __tablename__ = "machine_product_cycles"
    __table_args__ = (UniqueConstraint("machine_id", "product_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    product_code: Mapped[str] = mapped_column(String(60))
    ideal_cycle_seconds: Mapped[float]


class Shift(Timestamps, Base):
    """A shift of a site's calendar in site time; planned stops (breaks, meetings) are not
    planned production time."""

    __tablename__ = "shifts"
    __table_args__ = (UniqueConstraint("site_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[time]
    ends_at: Mapped[time]  # at or before starts_at: ends the next day
    weekdays: Mapped[list[int]] = mapped_column(ARRAY(Integer))  # ISO, 1 = Monday
    # [["10:00", "10:30"], ...] local wall-clock
    planned_stops: Mapped[list[list[str]]] = mapped_column(JSONB, default=list)
    oee_target_pct: Mapped[float] = mapped_column(default=75.0)


class ShiftDayOff(Base):
    """A day a site does not produce (a holiday), for one shift or all of them."""

    __tablename__ = "shift_days_off"
    __table_args__ = (UniqueConstraint("site_id", "day", "shift_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    day: Mapped[date]
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    reason: Mapped[str] = mapped_column(String(200))


class DowntimeReason(Timestamps, Base):
    __tablename__ = "downtime_reasons"
    __table_args__ = (UniqueConstraint("organization_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    description: Mapped[str] = mapped_column(Text)
    is_planned: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    color: Mapped[str | None] = mapped_column(String(7))
    sort_order: Mapped[int] = mapped_column(default=0)


class ProductionDowntime(Timestamps, Base):
    """A stop logged on the floor (seed 002). Where it overlaps a maintenance downtime of
    the same machine the two are one stoppage when figures are computed."""

    __tablename__ = "production_downtime"
    __table_args__ = (
        Index("ix_production_downtime_machine_start", "machine_id", "start_time"),
        # A period near now is found by its end, not by scanning every earlier start.
        Index("ix_production_downtime_machine_end", "machine_id", "end_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("production_lines.id"))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    reason_code: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    planned: Mapped[bool] = mapped_column(default=False)
    severity: Mapped[str] = mapped_column(String(10), default="medium")
    start_time: Mapped[datetime]
    end_time: Mapped[datetime | None]
    duration_minutes: Mapped[float | None]
    notes: Mapped[str | None] = mapped_column(Text)
    logged_by: Mapped[str] = mapped_column(String(200))
    ended_by: Mapped[str | None] = mapped_column(String(200))


# The stops touching a short window (the ragged ends of a period) without a quarter's scan.
Index(
    "ix_production_downtime_span",
    span(ProductionDowntime.start_time, ProductionDowntime.end_time),
    postgresql_using="gist",
)


class ProductionCount(Base):
    """Output of one machine over one period; the ideal cycle time in force is kept with it
    so a later change of the machine's figure does not rewrite history."""

    __tablename__ = "production_counts"
    __table_args__ = (
        Index("ix_production_counts_machine_period", "machine_id", "period_start"),
        Index("ix_production_counts_machine_end", "machine_id", "period_end"),
        Index(
            "ix_production_counts_long",
            "machine_id",
            "period_start",
            postgresql_where=text(LONG_COUNT_SQL),
        ),
        UniqueConstraint("organization_id", "entry_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    product_code: Mapped[str | None] = mapped_column(String(60))
    period_start: Mapped[datetime]
    period_end: Mapped[datetime]
    total: Mapped[int]
    good: Mapped[int]
    reject: Mapped[int] = mapped_column(default=0)
    rework: Mapped[int] = mapped_column(default=0)
    startup_reject: Mapped[int] = mapped_column(default=0)
    ideal_cycle_seconds: Mapped[float]
    # The sender's key: the same entry sent twice is stored once.
    entry_key: Mapped[str | None] = mapped_column(String(80))
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime]


class PerformanceLog(Base):
    __tablename__ = "performance_logs"
    __table_args__ = (Index("ix_performance_logs_machine_at", "machine_id", "logged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    logged_at: Mapped[datetime]
    actual_cycle_seconds: Mapped[float]
    target_cycle_seconds: Mapped[float]
    units: Mapped[int]


class QualityEvent(Base):
    __tablename__ = "quality_events"
    __table_args__ = (Index("ix_quality_events_machine_at", "machine_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"))
    event_type: Mapped[str] = mapped_column(String(10))  # scrap, rework, reject
    occurred_at: Mapped[datetime]
    quantity: Mapped[int]
    defect_type: Mapped[str | None] = mapped_column(String(100))
    notes: Mapped[str | None] = mapped_column(Text)
    logged_by: Mapped[str] = mapped_column(String(200))


class EnergyReading(Base):
    __tablename__ = "energy_readings"
    __table_args__ = (Index("ix_energy_readings_machine_time", "machine_id", "reading_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    machine_id: Mapped[int | None] = mapped_column(ForeignKey("machines.id"))
    line_id: Mapped[int | None] = mapped_column(ForeignKey("production_lines.id"))
    reading_time: Mapped[datetime]
    kwh: Mapped[float]
    meter_reading: Mapped[float | None]
    reading_type: Mapped[str] = mapped_column(String(10), default="manual")  # or automatic
    source: Mapped[str | None] = mapped_column(String(50))


class EnergyBaseline(Base):
    __tablename__ = "energy_baselines"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"), index=True)
    product_code: Mapped[str | None] = mapped_column(String(60))
    kwh_per_unit: Mapped[float | None]
    kwh_per_hour: Mapped[float | None]
    effective_date: Mapped[date]


class EnergyRate(Base):
    """A flat rate, or time-of-use bands in site time: [{"from": "07:00", "to": "19:00",
    "rate": 0.15}, ...]; hours outside every band pay `rate_per_kwh`."""

    __tablename__ = "energy_rates"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    effective_date: Mapped[date]
    rate_type: Mapped[str] = mapped_column(String(12), default="flat")  # or time_of_use
    rate_per_kwh: Mapped[float]
    bands: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    currency: Mapped[str] = mapped_column(String(3), default="USD")


class _TallyColumns:
    planned_s: Mapped[float] = mapped_column(default=0.0)
    down_s: Mapped[float] = mapped_column(default=0.0)
    setup_s: Mapped[float] = mapped_column(default=0.0)
    small_stop_s: Mapped[float] = mapped_column(default=0.0)
    ideal_s: Mapped[float] = mapped_column(default=0.0)
    total: Mapped[float] = mapped_column(default=0.0)
    good: Mapped[float] = mapped_column(default=0.0)
    startup_rejects: Mapped[float] = mapped_column(default=0.0)


class OeeSnapshot(_TallyColumns, Base):
    """One machine's tally over the five minutes ending at `taken_at`."""

    __tablename__ = "oee_snapshots"
    __table_args__ = (
        UniqueConstraint("machine_id", "taken_at"),
        Index("ix_oee_snapshots_org_time", "organization_id", "taken_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    taken_at: Mapped[datetime]


class OeeHourlySummary(_TallyColumns, Base):
    __tablename__ = "oee_hourly_summaries"
    __table_args__ = (
        UniqueConstraint("machine_id", "hour_start"),
        Index("ix_oee_hourly_org_hour", "organization_id", "hour_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    hour_start: Mapped[datetime]


class OeeDailySummary(_TallyColumns, Base):
    """One machine's site-local day (23, 24 or 25 hours)."""

    __tablename__ = "oee_daily_summaries"
    __table_args__ = (
        UniqueConstraint("machine_id", "day"),
        Index("ix_oee_daily_org_day", "organization_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    day: Mapped[date]


class OeeStoppage(Base):
    """A merged stoppage (floor and maintenance stops of one machine that overlap, counted
    once), kept up to date as downtime is recorded and by the snapshot round, so
    reliability and Pareto over a quarter sum these rows instead of merging raw stops."""

    __tablename__ = "oee_stoppages"
    __table_args__ = (
        UniqueConstraint("machine_id", "key"),
        Index("ix_oee_stoppages_machine_start", "machine_id", "start_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    key: Mapped[str] = mapped_column(String(40))  # the earliest stop's, e.g. "oee:12"
    start_time: Mapped[datetime]
    end_time: Mapped[datetime | None]
    reason_code: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(20))
    planned: Mapped[bool] = mapped_column(default=False)
    linked: Mapped[str] = mapped_column(Text, default="")  # the other stops' keys, comma-joined


Index(
    "ix_oee_stoppages_span",
    span(OeeStoppage.start_time, OeeStoppage.end_time),
    postgresql_using="gist",
)
