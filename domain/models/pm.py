"""Preventive-maintenance templates (seed 003 D.2): what a PM consists of, versioned. The
schedules that apply a template to an asset are in work_orders.py (PmSchedule)."""

from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, Timestamps


class PmTemplate(Timestamps, Base):
    """One version of a template: a change writes a new row with the next version and the
    older one stops being current; work orders keep the row they were made from. Tasks and
    parts live with the version (JSON), since a version never changes once written."""

    __tablename__ = "pm_templates"
    __table_args__ = (UniqueConstraint("organization_id", "code", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(default=1)
    is_current: Mapped[bool] = mapped_column(default=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    asset_type_id: Mapped[int] = mapped_column(ForeignKey("asset_types.id"), index=True)
    applicable_assets: Mapped[list[str]] = mapped_column(JSONB, default=list)
    schedule_type: Mapped[str] = mapped_column(String(20))
    interval_days: Mapped[int | None]
    interval_hours: Mapped[float | None]
    interval_cycles: Mapped[int | None]
    estimated_hours: Mapped[float | None]
    required_skills: Mapped[list[str]] = mapped_column(JSONB, default=list)
    required_competencies: Mapped[list[str]] = mapped_column(JSONB, default=list)
    required_permits: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # [{sequence, description, detailed_instructions, is_required, estimated_minutes,
    #   requires_measurement, measurement_unit, measurement_spec, requires_photo,
    #   requires_signature}]
    tasks: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # [{part_number, quantity_required, is_optional, usage_notes}]
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    procedure_url: Mapped[str | None] = mapped_column(String(500))
    safety_instructions: Mapped[str | None] = mapped_column(Text)
    is_regulatory: Mapped[bool] = mapped_column(default=False)
    regulatory_reference: Mapped[str | None] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(200))
