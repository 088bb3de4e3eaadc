"""Anomaly imports from a workbook (seed 000 C4): the import, each of its rows with its
outcome, and the key that makes a row (asset, detection time, title) register once."""

from datetime import datetime
from typing import Any

from sqlalchemy import CHAR, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class AnomalyImport(Base):
    __tablename__ = "anomaly_imports"
    # The same file twice is the same import.
    __table_args__ = (UniqueConstraint("organization_id", "file_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    file_sha256: Mapped[str] = mapped_column(CHAR(64))
    filename: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    user_name: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="RECEIVED")
    rows: Mapped[int] = mapped_column(default=0)
    registered: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    finished_at: Mapped[datetime | None]


class AnomalyImportRow(Base):
    __tablename__ = "anomaly_import_rows"

    import_id: Mapped[int] = mapped_column(ForeignKey("anomaly_imports.id"), primary_key=True)
    row_number: Mapped[int] = mapped_column(primary_key=True)  # as the sheet numbers it
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    # The cells as read (text, numbers, ISO datetimes), checked when the row's batch runs.
    cells: Mapped[dict[str, Any]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20), default="PENDING")
    reference: Mapped[str | None] = mapped_column(String(20))
    # [{"column": ..., "rule": ...}] for a refused row.
    problems: Mapped[list[dict[str, str]]] = mapped_column(JSONB, default=list)
    message: Mapped[str | None] = mapped_column(Text)


class AnomalyImportKey(Base):
    """An imported row registered: a second row with the same asset, detection time and
    title (case and spacing aside) finds its key taken and is a duplicate."""

    __tablename__ = "anomaly_import_keys"
    __table_args__ = (Index("ix_anomaly_import_keys_anomaly", "anomaly_id"),)

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), primary_key=True)
    detected_at: Mapped[datetime] = mapped_column(primary_key=True)
    title_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    anomaly_id: Mapped[int] = mapped_column(ForeignKey("anomalies.id"))
    import_id: Mapped[int] = mapped_column(ForeignKey("anomaly_imports.id"))
