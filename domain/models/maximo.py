"""Maximo intake (seed 000 C3): its configuration, its editable mapping tables, the
Maximo records already imported, and one row per import or sync run."""

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base, Timestamps


class MaximoConfig(Timestamps, Base):
    """Where an organisation's Maximo is and how often it is read. `cursor` holds, per
    object structure, the last change time seen and the page a stopped run resumes at."""

    __tablename__ = "maximo_configs"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), unique=True)
    base_url: Mapped[str] = mapped_column(String(500))
    api_key: Mapped[str | None] = mapped_column(String(500))
    interval_minutes: Mapped[int] = mapped_column(default=60)
    page_size: Mapped[int] = mapped_column(default=100)
    enabled: Mapped[bool] = mapped_column(default=False)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class MaximoAssetMap(Timestamps, Base):
    __tablename__ = "maximo_asset_map"
    __table_args__ = (UniqueConstraint("organization_id", "maximo_site", "assetnum"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    maximo_site: Mapped[str] = mapped_column(String(40))
    assetnum: Mapped[str] = mapped_column(String(60))
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))


class MaximoStatusMap(Timestamps, Base):
    """An organisation's own reading of a Maximo status, over the shipped defaults."""

    __tablename__ = "maximo_status_map"
    __table_args__ = (UniqueConstraint("organization_id", "kind", "maximo_status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    kind: Mapped[str] = mapped_column(String(2))
    maximo_status: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(10))


class MaximoPriorityMap(Timestamps, Base):
    __tablename__ = "maximo_priority_map"
    __table_args__ = (UniqueConstraint("organization_id", "priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    priority: Mapped[int]
    urgency: Mapped[str] = mapped_column(String(10))
    safety_impact: Mapped[str] = mapped_column(String(10))


class MaximoRecord(Timestamps, Base):
    """A Maximo work order or service request imported, by its own identifiers."""

    __tablename__ = "maximo_records"
    __table_args__ = (UniqueConstraint("organization_id", "site", "kind", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    site: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(2))
    external_id: Mapped[str] = mapped_column(String(60))
    anomaly_id: Mapped[int] = mapped_column(ForeignKey("anomalies.id"), unique=True)
    maximo_status: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[datetime]
    historical: Mapped[bool] = mapped_column(default=False)


class MaximoRun(Base):
    """One import (an upload or a scheduled sync) and what it did."""

    __tablename__ = "maximo_runs"
    __table_args__ = (Index("ix_maximo_runs_org_started", "organization_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    source: Mapped[str] = mapped_column(String(10))  # SYNC, JSON or CSV
    workflow_id: Mapped[str | None] = mapped_column(String(200))
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10))  # RUNNING, DONE
    pages: Mapped[int] = mapped_column(default=0)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    # The references created and updated, and each refusal with its reason.
    created_refs: Mapped[list[str]] = mapped_column(JSONB, default=list)
    updated_refs: Mapped[list[str]] = mapped_column(JSONB, default=list)
    refusals: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    # The latest changedate met, per object structure: the next sync's filter once done.
    seen: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
