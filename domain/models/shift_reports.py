"""Shift reports (one row per version, drafted by their workflow at each shift's end) and
the handover notes one shift leaves the next, seed 002."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, Timestamps


class ShiftReport(Timestamps, Base):
    """The figures are stored as drafted (times and counts summed, the ratios computed once
    from the sums); an approved report is locked, a correction is the next version."""

    __tablename__ = "shift_reports"
    __table_args__ = (
        UniqueConstraint("site_id", "shift_day", "shift_code", "version"),
        Index("ix_shift_reports_org_day", "organization_id", "shift_day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    reference: Mapped[str] = mapped_column(String(60), unique=True)  # the workflow id
    shift_code: Mapped[str] = mapped_column(String(40))
    shift_day: Mapped[date]  # the site-local date the shift starts on
    version: Mapped[int] = mapped_column(default=1)
    corrects: Mapped[str | None] = mapped_column(String(60))  # the version it corrects
    correction_reason: Mapped[str | None] = mapped_column(Text)
    start_time: Mapped[datetime]
    end_time: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="DRAFT")
    oee_pct: Mapped[float | None]
    availability_pct: Mapped[float | None]
    performance_pct: Mapped[float | None]
    quality_pct: Mapped[float | None]
    total_output: Mapped[float] = mapped_column(default=0.0)
    good_output: Mapped[float] = mapped_column(default=0.0)
    scrap_count: Mapped[float] = mapped_column(default=0.0)
    down_minutes: Mapped[float] = mapped_column(default=0.0)
    planned_down_minutes: Mapped[float] = mapped_column(default=0.0)
    unplanned_down_minutes: Mapped[float] = mapped_column(default=0.0)
    kwh: Mapped[float] = mapped_column(default=0.0)
    # Everything else the report shows: per machine, stops by reason, quality events,
    # energy, work orders, anomalies.
    figures: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The site's supervisors on this shift, who review it (beside the operations manager).
    supervisor_ids: Mapped[list[int]] = mapped_column(ARRAY(Integer), default=list)
    notes: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime | None]
    reminders: Mapped[int] = mapped_column(default=0)
    archive_key: Mapped[str | None] = mapped_column(String(64))  # the PDF, by content hash
    archived_at: Mapped[datetime | None]
    locked_at: Mapped[datetime | None]
    generated_at: Mapped[datetime]
    last_step: Mapped[int] = mapped_column(default=0)


class HandoverNote(Base):
    """What one shift tells the next (seed 002 shift_handover_notes), acknowledged by the
    next shift."""

    __tablename__ = "shift_handover_notes"
    __table_args__ = (Index("ix_handover_site_to", "site_id", "to_day", "to_shift"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    # A note outlives the report it was written with once retention takes the report.
    shift_report_id: Mapped[int | None] = mapped_column(
        ForeignKey("shift_reports.id", ondelete="SET NULL")
    )
    from_shift: Mapped[str] = mapped_column(String(40))
    from_day: Mapped[date]
    to_shift: Mapped[str] = mapped_column(String(40))
    to_day: Mapped[date]
    note_type: Mapped[str] = mapped_column(String(20), default="information")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    message: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    acknowledged_by: Mapped[str | None] = mapped_column(String(200))
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None]
