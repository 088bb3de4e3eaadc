"""Uploaded files by their SHA-256 content hash: one row per organisation and content,
however many records point at it."""

from datetime import datetime

from sqlalchemy import CHAR, ForeignKey, LargeBinary, func
from sqlalchemy.orm import Mapped, mapped_column

from domain.models.base import Base


class StoredFile(Base):
    __tablename__ = "stored_files"

    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), primary_key=True)
    sha256: Mapped[str] = mapped_column(CHAR(64), primary_key=True)
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(server_default=func.now())
